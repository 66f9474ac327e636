package org.openkcm.keystore.core.kek;

import java.io.File;
import java.nio.file.Path;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.RandomSource;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The KEK ring in a local key file ({@link KekRingText} form, owner-only). Runs without any
 * configuration: the file is then {@code kek/local.kek} in this bundle's persistent data area,
 * created with a fresh 256-bit KEK (mode 0600) on first start. A file that group or others may
 * access is refused, and the component does not start.
 * <p>
 * To rotate, add a version to the file ({@code <next version>:<base64 of 32 random bytes>}, or
 * {@link KekFile#addVersion}) and update this configuration (any attribute, e.g. {@code reload})
 * so the file is read again; the new version then seals and every version still opens.
 */
@Component(name = FileKekProvider.PID, service = KekProvider.class, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = FileKekProvider.Config.class)
public final class FileKekProvider extends RingKekProvider {
    public static final String PID = "org.openkcm.keystore.kek.file";
    /** Where the key file lives, in the bundle's data area, when no path is configured. */
    public static final String DEFAULT_FILE = "kek/local.kek";

    @ObjectClassDefinition(name = "OpenKCM Keystore KEK: local key file",
            description = "A key-encryption-key ring in a local, owner-only file (mode 0600). "
                    + "The highest version seals; every version present opens.")
    public @interface Config {
        @AttributeDefinition(name = "KEK id",
                description = "Recorded in every sealed record and lifecycle MAC; keep it stable while records are wrapped under it.")
        String kek_id() default "local";

        @AttributeDefinition(name = "Key file",
                description = "Path of the KEK ring file. Empty: " + DEFAULT_FILE + " in this bundle's persistent data area.")
        String path() default "";

        @AttributeDefinition(name = "Create when absent",
                description = "Create the file with one fresh 256-bit KEK (mode 0600) if it does not exist.")
        boolean create() default true;

        @AttributeDefinition(name = "Reload marker",
                description = "Change this value to make the provider read the file again (after a KEK version was added or removed).")
        String reload() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    private Path path;

    public FileKekProvider() {
    }

    /** A provider outside a framework (tests, benchmarks): loads, creating the file if asked to. */
    public static FileKekProvider open(Path path, String kekId, boolean create) {
        FileKekProvider provider = new FileKekProvider();
        provider.load(path, kekId, create);
        return provider;
    }

    @Activate
    void activate(BundleContext context, Config config) {
        load(resolve(context, config), config.kek_id(), config.create());
    }

    @Modified
    void modified(BundleContext context, Config config) {
        load(resolve(context, config), config.kek_id(), config.create());
    }

    @Deactivate
    void deactivate() {
        unload();
    }

    /** The key file this provider reads. */
    public Path path() {
        return path;
    }

    /** Reads the file again, e.g. after a version was added. */
    public void reload() {
        load(path, kekId(), false);
    }

    void load(Path file, String kekId, boolean create) {
        KekIds.check(kekId);
        if (!KekFile.isPosix(file)) {
            Logs.warn(logger, "The file system of KEK file {} has no POSIX permissions: owner-only access cannot be checked",
                    file);
        }
        if (create && KekFile.createIfAbsent(file, RandomSource.secure())) {
            Logs.info(logger, "Created KEK file {} (mode 0600) with a fresh 256-bit KEK '{}' version 1", file, kekId);
        }
        // A refusal propagates: Declarative Services reports the failed activation with this message
        // (the runtime prints it once on the console); logging it here too would say it twice.
        Map<Integer, byte[]> keys = KekFile.read(file);
        try {
            KekRing ring = KekRing.of(kekId, keys);
            install(ring);
            this.path = file;
            Logs.info(logger, "KEK provider '{}' loaded versions {} from {}; version {} seals", kekId, ring.versions(),
                    file, ring.currentVersion());
        } finally {
            keys.values().forEach(Bytes::wipe);
        }
    }

    private static Path resolve(BundleContext context, Config config) {
        if (!config.path().isBlank()) {
            return Path.of(config.path().trim());
        }
        File data = context.getDataFile(DEFAULT_FILE);
        if (data == null) {
            throw new UnavailableException("the framework offers no persistent data area: configure the 'path' of "
                    + PID);
        }
        return data.toPath();
    }
}
