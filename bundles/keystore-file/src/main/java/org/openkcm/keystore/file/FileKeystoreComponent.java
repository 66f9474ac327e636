package org.openkcm.keystore.file;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.EnumSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Validation;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One file-backed {@link Keystore} per factory configuration of {@value #PID}, each on a root
 * folder of its own.
 * <p>
 * The configuration is validated and the folder opened (locked and read) before anything is
 * registered: a refused configuration or a folder another runtime holds fails activation with a
 * message naming the attribute or the folder, and no {@code Keystore} service appears. That is
 * why the service is registered here rather than declared (as the OpenBao backend does).
 * <p>
 * Besides {@code keystore.name}, {@code keystore.tiers}, {@code keystore.regions} and
 * {@code service.ranking}, the service carries {@value #PERSISTENT} ({@code true}) and
 * {@value #LOCATION} (the folder), which the runtime shows at start.
 */
@Component(name = FileKeystoreComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = {})
@Designate(ocd = FileKeystoreComponent.Config.class, factory = true)
public final class FileKeystoreComponent {
    /** The factory PID: one configuration per folder. */
    public static final String PID = "org.openkcm.keystore.file";
    public static final String DEFAULT_NAME = "file";
    /** Service property: whether keys survive a restart of the runtime. */
    public static final String PERSISTENT = "keystore.persistent";
    /** Service property: where the keys are kept. */
    public static final String LOCATION = "keystore.location";

    @ObjectClassDefinition(name = "OpenKCM Keystore: encrypted-file backend",
            description = "A Keystore backend that keeps each sealed key version in a checksummed file under a folder,"
                    + " written atomically and forced to disk. One configuration per folder; a folder serves one"
                    + " runtime at a time.")
    public @interface Config {
        @AttributeDefinition(name = "Name",
                description = "The keystore.name routes use to target this instance; stable across upgrades.")
        String keystore_name() default DEFAULT_NAME;

        @AttributeDefinition(name = "Tiers", description = "The key tiers this instance accepts.", options = {
                @Option(label = "L2 (tenant keys)", value = "L2"),
                @Option(label = "L3 (service keys)", value = "L3"),
                @Option(label = "L4 (data keys)", value = "L4")})
        String[] keystore_tiers() default {"L2", "L3", "L4"};

        @AttributeDefinition(name = "Regions", required = false, description = "The regions this instance serves.")
        String[] keystore_regions() default {};

        @AttributeDefinition(name = "Service ranking")
        int service_ranking() default 0;

        @AttributeDefinition(name = "Folder",
                description = "The root folder of the key files (an absolute path); created, owner-only, if absent.")
        String path();
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    private FileKeystore keystore;
    private ServiceRegistration<Keystore> registration;

    /**
     * @throws InvalidInputException naming the attribute, if the configuration is refused
     * @throws org.openkcm.keystore.api.UnavailableException naming the folder, if it cannot be
     *         opened or another runtime holds it; no service is registered then
     */
    @Activate
    void activate(BundleContext context, Config config) {
        Settings settings = Settings.of(config);
        FileKeystore opened = new FileKeystore(settings.root, settings.name, settings.tiers, logger);
        try {
            registration = context.registerService(Keystore.class, opened, settings.serviceProperties(opened.root()));
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
        keystore = opened;
        if (logger != null) {
            logger.info("file keystore '{}' serves {} key version(s) from {}", settings.name, opened.size(),
                    opened.root());
        }
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The framework unregisters a stopping bundle's services itself.
        }
        keystore.close();
    }

    /** A validated configuration. */
    static final class Settings {
        final String name;
        final Set<KeyType> tiers;
        final List<String> regions;
        final int ranking;
        final Path root;

        private Settings(String name, Set<KeyType> tiers, List<String> regions, int ranking, Path root) {
            this.name = name;
            this.tiers = tiers;
            this.regions = regions;
            this.ranking = ranking;
            this.root = root;
        }

        /** @throws InvalidInputException naming the first attribute that breaks a rule */
        static Settings of(Config config) {
            String name = Validation.identifier("keystore.name", config.keystore_name(), Validation.MAX_NAME_LENGTH);
            List<String> tierNames = KeystoreProperties.values(config.keystore_tiers());
            if (tierNames.isEmpty()) {
                throw new InvalidInputException("keystore.tiers", "must name at least one of " + allTiers());
            }
            Set<KeyType> tiers = EnumSet.noneOf(KeyType.class);
            for (int i = 0; i < tierNames.size(); i++) {
                tiers.add(tier("keystore.tiers[" + i + "]", tierNames.get(i)));
            }
            List<String> regions = KeystoreProperties.values(config.keystore_regions());
            for (int i = 0; i < regions.size(); i++) {
                Validation.identifier("keystore.regions[" + i + "]", regions.get(i), Validation.MAX_REGION_LENGTH);
            }
            return new Settings(name, tiers, regions, config.service_ranking(), root(config.path()));
        }

        Dictionary<String, Object> serviceProperties(Path realRoot) {
            Dictionary<String, Object> properties = new Hashtable<>();
            properties.put(KeystoreProperties.NAME, name);
            properties.put(KeystoreProperties.TIERS, tiers.stream().map(Enum::name).toArray(String[]::new));
            properties.put(KeystoreProperties.REGIONS, regions.toArray(new String[0]));
            properties.put(Constants.SERVICE_RANKING, ranking);
            properties.put(PERSISTENT, Boolean.TRUE);
            properties.put(LOCATION, realRoot.toString());
            return properties;
        }

        private static Path root(String path) {
            if (path == null || path.isBlank()) {
                throw new InvalidInputException("path", "is required: the folder that holds the key files");
            }
            if (path.contains("${")) {
                throw new InvalidInputException("path", "holds an unresolved ${...} reference: " + path);
            }
            Path root;
            try {
                root = Path.of(path.trim());
            } catch (InvalidPathException e) {
                throw new InvalidInputException("path", "is not a valid path: " + e.getReason());
            }
            if (!root.isAbsolute()) {
                throw new InvalidInputException("path", "must be an absolute path, not " + path);
            }
            return root.normalize();
        }

        private static KeyType tier(String field, String value) {
            for (KeyType type : KeyType.values()) {
                if (type.name().equals(value)) {
                    return type;
                }
            }
            throw new InvalidInputException(field, "must be one of " + allTiers());
        }

        private static String allTiers() {
            return Arrays.stream(KeyType.values()).map(Enum::name).collect(Collectors.joining(", "));
        }
    }
}
