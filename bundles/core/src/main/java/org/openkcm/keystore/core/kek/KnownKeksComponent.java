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
 * bundle: by default it is {@code ${openkcm.home}/data/kek/known-keks}, beside the default KEK
 * file. Without {@code openkcm.home} and without a configured path it falls back to the core
 * bundle's data area, with a warning: that area is deleted when the bundle is uninstalled, and the
 * pins with it. A service of the core bundle alone.
 */
@Component(name = KnownKeksComponent.PID, service = KnownKeksComponent.class)
@Designate(ocd = KnownKeksComponent.Config.class)
public final class KnownKeksComponent {
    public static final String PID = "org.openkcm.keystore.kek.known";
    /** The framework property naming the runtime's home folder. */
    public static final String HOME_PROPERTY = "openkcm.home";
    static final String RELATIVE = "data/kek/known-keks";
    static final String DATA_AREA_RELATIVE = "kek/known-keks";

    @ObjectClassDefinition(name = "OpenKCM Keystore: the record of known KEKs",
            description = "Where the key check values of every KEK version used are kept; it pins each KEK's identity.")
    public @interface Config {
        @AttributeDefinition(name = "Record file",
                description = "Empty: ${openkcm.home}/" + RELATIVE + ". Without openkcm.home: the core bundle's data "
                        + "area, which an uninstall deletes; configure a path there.")
        String path() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private Logger logger;

    private KnownKeks known;

    @Activate
    void activate(BundleContext context, Config config) {
        Path file = resolve(config.path(), context.getProperty(HOME_PROPERTY));
        if (file == null) {
            java.io.File data = context.getDataFile(DATA_AREA_RELATIVE);
            if (data == null) {
                throw new InvalidInputException(PID + " path", "is not set, openkcm.home is not set and the framework "
                        + "gives the core bundle no data area: configure where the known-KEK record lives");
            }
            file = data.toPath();
            Logs.warn(logger, "The known-KEK record is in the core bundle's data area ({}), which an uninstall of the "
                    + "bundle deletes; configure 'path' of {} to keep it", file, PID);
        }
        known = KnownKeks.open(file);
        Logs.info(logger, "Known-KEK record {}: KEK ids {}", file, known.kekIds());
    }

    public KnownKeks known() {
        return known;
    }

    /** The configured path, else the one in the home; null if neither is set. */
    static Path resolve(String configured, String home) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.trim());
        }
        if (home != null && !home.isBlank()) {
            return Path.of(home.trim()).resolve(RELATIVE);
        }
        return null;
    }
}
