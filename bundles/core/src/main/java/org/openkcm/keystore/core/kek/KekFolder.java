package org.openkcm.keystore.core.kek;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

import org.openkcm.keystore.api.InvalidInputException;

/**
 * Where the core keeps the default KEK file and the known-KEK record, together: the runtime's home
 * ({@code ${openkcm.home}/data/kek}), else under Karaf its data folder
 * ({@code ${karaf.data}/openkcm/kek}, where the KEK providers' rings go too). Never a bundle data
 * area: the framework deletes that with the bundle, and the KEK and its pins with it.
 */
final class KekFolder {
    /** The framework property naming the runtime's home folder. */
    static final String HOME_PROPERTY = "openkcm.home";
    /** Karaf's data folder, a system property every Karaf sets. */
    static final String KARAF_DATA_PROPERTY = "karaf.data";

    private KekFolder() {
    }

    /**
     * The folder, or null if neither property is set.
     *
     * @param properties the framework's properties (BundleContext::getProperty, which falls back
     *                   to the system properties)
     */
    static Path of(UnaryOperator<String> properties) {
        String home = properties.apply(HOME_PROPERTY);
        if (home != null && !home.isBlank()) {
            return Path.of(home.strip(), "data", "kek").toAbsolutePath();
        }
        String karafData = properties.apply(KARAF_DATA_PROPERTY);
        if (karafData != null && !karafData.isBlank()) {
            return Path.of(karafData.strip(), "openkcm", "kek").toAbsolutePath();
        }
        return null;
    }

    /** The refusal when a file has no configured path and there is no folder for it. */
    static InvalidInputException noFolder(String pid, String what, String name) {
        return new InvalidInputException(pid + " path", "is not set, and neither the framework property "
                + HOME_PROPERTY + " nor " + KARAF_DATA_PROPERTY + " is: set " + HOME_PROPERTY + " (the " + what
                + " is then ${" + HOME_PROPERTY + "}/data/kek/" + name + ") or the 'path' of " + pid + "; it is never "
                + "kept in the core bundle's data area, which an uninstall of the bundle deletes");
    }
}
