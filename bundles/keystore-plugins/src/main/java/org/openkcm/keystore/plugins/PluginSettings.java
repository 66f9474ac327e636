package org.openkcm.keystore.plugins;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Validation;
import org.osgi.framework.Constants;

/** One plugin configuration, checked in full: what to start, how, and what to register it as. */
record PluginSettings(Path executable, String sha256, List<String> arguments, List<String> passedEnvironment,
        int protocolVersion, Duration handshakeTimeout, Duration callTimeout, Duration restartBackoff,
        Duration restartBackoffMax, Duration shutdownTimeout, String name, Set<KeyType> tiers, List<String> regions,
        boolean persistent, int ranking, Map<String, String> pluginSettings) {

    /** Properties named {@code settings.<name>} are the plugin's own settings. */
    static final String SETTINGS_PREFIX = "settings.";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /**
     * @param properties the whole configuration, for its {@code settings.*} properties
     * @throws IllegalArgumentException naming the property that is wrong
     */
    static PluginSettings of(PluginConfig config, Map<String, ?> properties) {
        String path = required("plugin.path", config.plugin_path());
        Path executable = Path.of(path);
        if (!executable.isAbsolute()) {
            throw new IllegalArgumentException("plugin.path must be an absolute path: " + path);
        }
        String sha256 = required("plugin.sha256", config.plugin_sha256()).toLowerCase(Locale.ROOT);
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("plugin.sha256 must be 64 hex digits (the SHA-256 of the executable)");
        }
        List<String> env = new ArrayList<>();
        for (String name : KeystoreProperties.values(config.plugin_env())) {
            if (!ENV_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("plugin.env: '" + name + "' is not an environment variable name");
            }
            env.add(name);
        }
        String name = Validation.identifier(KeystoreProperties.NAME, required("keystore.name", config.keystore_name()),
                Validation.MAX_NAME_LENGTH);
        Set<KeyType> tiers = EnumSet.noneOf(KeyType.class);
        for (String tier : KeystoreProperties.values(config.keystore_tiers())) {
            try {
                tiers.add(KeyType.valueOf(tier));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("keystore.tiers: '" + tier + "' is not one of L2, L3, L4");
            }
        }
        if (tiers.isEmpty()) {
            throw new IllegalArgumentException("keystore.tiers must name at least one of L2, L3, L4");
        }
        Map<String, String> pluginSettings = new TreeMap<>();
        properties.forEach((key, value) -> {
            if (key.startsWith(SETTINGS_PREFIX) && key.length() > SETTINGS_PREFIX.length() && value != null) {
                pluginSettings.put(key.substring(SETTINGS_PREFIX.length()), String.valueOf(value));
            }
        });
        return new PluginSettings(executable, sha256, List.of(config.plugin_args()), List.copyOf(env),
                positive("plugin.protocol.version", config.plugin_protocol_version()),
                millis("plugin.handshake.timeout.ms", config.plugin_handshake_timeout_ms()),
                millis("plugin.call.timeout.ms", config.plugin_call_timeout_ms()),
                millis("plugin.restart.backoff.ms", config.plugin_restart_backoff_ms()),
                millis("plugin.restart.backoff.max.ms", config.plugin_restart_backoff_max_ms()),
                millis("plugin.shutdown.timeout.ms", config.plugin_shutdown_timeout_ms()),
                name, Set.copyOf(tiers), KeystoreProperties.values(config.keystore_regions()),
                config.keystore_persistent(), config.service_ranking(), Map.copyOf(pluginSettings));
    }

    /** The properties the backend's {@code Keystore} service is registered with. */
    Hashtable<String, Object> serviceProperties() {
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(KeystoreProperties.NAME, name);
        properties.put(KeystoreProperties.TIERS, tiers.stream().map(Enum::name).sorted().toArray(String[]::new));
        properties.put(KeystoreProperties.REGIONS, regions.toArray(String[]::new));
        properties.put(KeystoreProperties.PERSISTENT, persistent);
        properties.put(Constants.SERVICE_RANKING, ranking);
        properties.put("keystore.plugin.path", executable.toString());
        return properties;
    }

    private static String required(String property, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(property + " is required");
        }
        return value.trim();
    }

    private static int positive(String property, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(property + " must be 1 or more");
        }
        return value;
    }

    private static Duration millis(String property, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(property + " must be 1 or more");
        }
        return Duration.ofMillis(value);
    }
}
