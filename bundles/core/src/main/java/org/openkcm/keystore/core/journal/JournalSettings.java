package org.openkcm.keystore.core.journal;

import java.nio.file.Path;
import java.util.function.Function;

import org.openkcm.keystore.api.InvalidInputException;

/**
 * The checked form of {@link JournalConfig}.
 *
 * @param file the journal file
 * @param forceSteps whether step records are forced to disk too
 * @param compactBytes the size past which a journal with no open operation is rewritten empty
 */
public record JournalSettings(Path file, boolean forceSteps, long compactBytes) {
    public static final long DEFAULT_COMPACT_BYTES = 1 << 20;
    /** The framework property naming the runtime's home folder. */
    public static final String HOME_PROPERTY = "openkcm.home";
    static final String RELATIVE = "data/journal/intents.log";
    static final String DATA_AREA_RELATIVE = "journal/intents.log";

    public JournalSettings {
        if (file == null) {
            throw new InvalidInputException("journal.path", "is required");
        }
        if (compactBytes < 0) {
            throw new InvalidInputException("journal.compact.bytes", "must not be negative");
        }
    }

    public static JournalSettings of(Path file) {
        return new JournalSettings(file, false, DEFAULT_COMPACT_BYTES);
    }

    /**
     * The settings of a configuration, the path resolved: the configured path; else
     * {@code ${openkcm.home}/data/journal/intents.log} when {@code openkcm.home} is set; else
     * {@code journal/intents.log} in the bundle's data area.
     *
     * @param home the value of the framework property {@code openkcm.home}, or null
     * @param dataArea the bundle's data area (BundleContext::getDataFile), returning null where the
     *            framework has no file system
     * @throws InvalidInputException if no path can be found
     */
    public static JournalSettings of(JournalConfig config, String home, Function<String, java.io.File> dataArea) {
        return new JournalSettings(resolve(config.path(), home, dataArea), config.force_steps(), config.compact_bytes());
    }

    static Path resolve(String configured, String home, Function<String, java.io.File> dataArea) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.trim());
        }
        if (home != null && !home.isBlank()) {
            return Path.of(home.trim()).resolve(RELATIVE);
        }
        java.io.File data = dataArea == null ? null : dataArea.apply(DATA_AREA_RELATIVE);
        if (data == null) {
            throw new InvalidInputException("journal.path", "is not set, openkcm.home is not set, and the framework "
                    + "gives the bundle no data area: configure a path");
        }
        return data.toPath();
    }
}
