package org.openkcm.keystore.core.kek;

import java.nio.file.Path;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@link KnownKeks} record in the framework (PID {@value #PID}). It must outlive the core
 * bundle: by default it is {@code known-keks} in the {@link KekFolder}, beside the default KEK
 * file ({@code ${openkcm.home}/data/kek/}, else {@code ${karaf.data}/openkcm/kek/}). With neither
 * property and no configured path it refuses to start, and so does everything that needs it (the
 * file KEK, the keystore operations): the core bundle's data area, which an uninstall deletes with
 * the pins, is never used. A record an earlier version left there is moved to the folder. A
 * service of the core bundle alone.
 */
@Component(name = KnownKeksComponent.PID, service = KnownKeksComponent.class)
@Designate(ocd = KnownKeksComponent.Config.class)
public final class KnownKeksComponent {
    public static final String PID = "org.openkcm.keystore.kek.known";
    /** The framework property naming the runtime's home folder. */
    public static final String HOME_PROPERTY = KekFolder.HOME_PROPERTY;
    static final String NAME = "known-keks";
    static final String RELATIVE = "data/kek/" + NAME;
    /** Where earlier versions kept the record, in the bundle's data area: only ever moved out. */
    static final String DATA_AREA_RELATIVE = "kek/" + NAME;

    @ObjectClassDefinition(name = "OpenKCM Keystore: the record of known KEKs",
            description = "Where the key check values of every KEK version used are kept; it pins each KEK's identity.")
    public @interface Config {
        @AttributeDefinition(name = "Record file",
                description = "Empty: ${openkcm.home}/" + RELATIVE + ", else (Karaf) ${karaf.data}/openkcm/kek/" + NAME
                        + "; with neither property set, a path is required (the bundle's data area, which an "
                        + "uninstall deletes, is never used). Keep it beside the KEK file.")
        String path() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    private KnownKeks known;

    @Activate
    void activate(BundleContext context, Config config) {
        Path file = resolve(config.path(), KekFolder.of(context::getProperty));
        java.io.File old = context.getDataFile(DATA_AREA_RELATIVE);
        if (config.path().isBlank() && old != null && KnownKeks.moveIfAbsent(old.toPath(), file)) {
            Logs.info(logger, "Moved the known-KEK record from the core bundle's data area ({}) to {}", old, file);
        }
        known = KnownKeks.open(file);
        Logs.info(logger, "Known-KEK record {}: KEK ids {}", file, known.kekIds());
    }

    public KnownKeks known() {
        return known;
    }

    /**
     * The configured path, else {@value #NAME} in the KEK folder.
     *
     * @param folder the {@link KekFolder}, or null if the framework names none
     * @throws InvalidInputException if no path is configured and there is no folder
     */
    static Path resolve(String configured, Path folder) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.trim());
        }
        if (folder == null) {
            throw KekFolder.noFolder(PID, "known-KEK record", NAME);
        }
        return folder.resolve(NAME);
    }
}
