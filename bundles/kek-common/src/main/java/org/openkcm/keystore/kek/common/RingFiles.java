package org.openkcm.keystore.kek.common;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

import org.openkcm.keystore.api.InvalidInputException;

/**
 * Where a provider's sealed ring lives when {@code ring.file} is not set: in the runtime's home
 * ({@code openkcm.home}) or Karaf's data folder, never in a bundle data area, which the framework
 * deletes when the bundle is uninstalled.
 */
public final class RingFiles {
    private RingFiles() {
    }

    public static Path resolve(String configured, String kekId, UnaryOperator<String> systemProperties) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.strip()).toAbsolutePath();
        }
        String home = systemProperties.apply("openkcm.home");
        if (home != null && !home.isBlank()) {
            return Path.of(home, "data", "kek", kekId + ".ring").toAbsolutePath();
        }
        String karafData = systemProperties.apply("karaf.data");
        if (karafData != null && !karafData.isBlank()) {
            return Path.of(karafData, "openkcm", "kek", kekId + ".ring").toAbsolutePath();
        }
        throw new InvalidInputException("ring.file", "is required here (neither openkcm.home nor karaf.data is set):"
                + " the path of the file that keeps the sealed KEK ring");
    }
}
