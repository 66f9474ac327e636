package org.openkcm.keystore.config;

import java.time.Instant;
import java.util.List;

/**
 * What {@link ConfigYaml#status()} reports, for the shell to print: the file read, whether the
 * last read was accepted, the error that refused it (file, line, key path and rule; never a
 * value), how many configurations are in force from config.yaml and the environment, the .cfg
 * files they shadow, and the ConfigAdmin writes that failed in the last pass.
 *
 * @param file           the config.yaml path
 * @param ok             false while the last read input is refused
 * @param error          why it is refused, or null
 * @param configurations the configurations in force from config.yaml and the environment
 * @param shadowed       the .cfg files whose configurations config.yaml or the environment replaces
 * @param failures       the configurations ConfigAdmin would not write in the last pass, with why
 * @param lastChange     when the last accepted input was read, or null before the first
 */
public record ConfigStatus(String file, boolean ok, String error, List<String> configurations, List<String> shadowed,
        List<String> failures, Instant lastChange) {

    public ConfigStatus {
        configurations = List.copyOf(configurations);
        shadowed = List.copyOf(shadowed);
        failures = List.copyOf(failures);
    }
}
