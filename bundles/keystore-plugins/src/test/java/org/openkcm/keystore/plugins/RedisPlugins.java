package org.openkcm.keystore.plugins;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.plugins.testing.RedisServer;

/** Settings for tests that start the Redis plugin (plugins/go/redis) the build made. */
final class RedisPlugins {
    private RedisPlugins() {
    }

    /** The Redis plugin executable, built by this module's pom. */
    static Path executable() {
        String path = System.getProperty("openkcm.plugin.redis");
        if (path == null) {
            throw new IllegalStateException("system property openkcm.plugin.redis is not set: run the tests through Maven");
        }
        return Path.of(path);
    }

    /**
     * A backend on server under a prefix of its own (an empty keyspace), with the plugin's settings.
     * Every tier: the conformance suite stores keys of each (a deployment names L4, see config/examples).
     */
    static PluginSettings settings(RedisServer server, Map<String, String> extra) {
        Map<String, String> plugin = new java.util.TreeMap<>(extra);
        plugin.put("address", server.address());
        plugin.putIfAbsent("prefix", "test-" + UUID.randomUUID() + ":");
        return settings(plugin);
    }

    /** The plugin with exactly these settings. */
    static PluginSettings settings(Map<String, String> plugin) {
        Path executable = executable();
        return new PluginSettings(executable, ExecutableCheck.sha256(executable), List.of(), List.of(), 1,
                Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofMillis(50), Duration.ofMillis(400),
                Duration.ofSeconds(2), "go-redis", Set.of(KeyType.L2, KeyType.L3, KeyType.L4), List.of(), true, 0, Map.copyOf(plugin));
    }
}
