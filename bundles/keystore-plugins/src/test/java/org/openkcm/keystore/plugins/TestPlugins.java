package org.openkcm.keystore.plugins;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import org.openkcm.keystore.api.KeyType;

/** Settings and a log for tests that start the Go example plugins the build made. */
final class TestPlugins {
    private TestPlugins() {
    }

    /** The in-memory example plugin (plugins/go/examples/memory), built by this module's pom. */
    static Path memoryPlugin() {
        String path = System.getProperty("openkcm.plugin.memory");
        if (path == null) {
            throw new IllegalStateException("system property openkcm.plugin.memory is not set: run the tests through Maven");
        }
        return Path.of(path);
    }

    /** The persistent example plugin (plugins/go/examples/file), version 1. */
    static Path filePlugin() {
        return built("openkcm.plugin.file");
    }

    /** The same plugin built as version 2: another executable, another checksum. */
    static Path filePluginVersion2() {
        return built("openkcm.plugin.file.v2");
    }

    /** The plugin that breaks the contract in the way its first argument names (plugins/go/misbehaving). */
    static Path misbehavingPlugin() {
        return built("openkcm.plugin.misbehaving");
    }

    private static Path built(String property) {
        String path = System.getProperty(property);
        if (path == null) {
            throw new IllegalStateException("system property " + property + " is not set: run the tests through Maven");
        }
        return Path.of(path);
    }

    /** Settings of the file plugin keeping its keys in {@code dir}. */
    static PluginSettings fileSettings(Path executable, Path dir) {
        return new PluginSettings(executable, ExecutableCheck.sha256(executable), List.of(), List.of(), 1,
                Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofMillis(50), Duration.ofMillis(400),
                Duration.ofSeconds(2), "go-file", Set.of(KeyType.L2, KeyType.L3, KeyType.L4), List.of(), true, 0,
                Map.of("dir", dir.toString()));
    }

    static PluginSettings settings(Path executable) {
        return settings(executable, ExecutableCheck.sha256(executable), List.of(), 1, Duration.ofSeconds(10));
    }

    static PluginSettings settings(Path executable, String sha256, List<String> args, int protocolVersion,
            Duration handshakeTimeout) {
        return new PluginSettings(executable, sha256, args, List.of("OPENKCM_TEST_PASSED"), protocolVersion,
                handshakeTimeout, Duration.ofSeconds(5), Duration.ofMillis(50), Duration.ofMillis(400),
                Duration.ofSeconds(2), "go-memory", Set.of(KeyType.L2, KeyType.L3, KeyType.L4), List.of(), false, 0,
                Map.of());
    }

    /** A log that keeps every line, for tests to read. */
    static final class RecordingLog implements PluginLog {
        final List<String> lines = new CopyOnWriteArrayList<>();

        @Override
        public void info(String message) {
            lines.add("INFO " + message);
        }

        @Override
        public void warn(String message) {
            lines.add("WARN " + message);
        }

        @Override
        public void error(String message) {
            lines.add("ERROR " + message);
        }
    }
}
