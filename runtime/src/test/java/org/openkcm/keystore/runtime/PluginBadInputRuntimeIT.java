package org.openkcm.keystore.runtime;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every bad plugin of one runtime, side by side, each seen where an operator looks: a missing file,
 * a file that is not executable, a checksum mismatch, output before the handshake, no handshake,
 * a wrong protocol version (each NOT STARTED in keystore:backends with its one line, and that line in
 * the log), and a plugin that sends malformed records (its row's LAST FAILURE, and one warning in the
 * log). A good plugin and the memory backend beside them keep serving.
 */
class PluginBadInputRuntimeIT {
    static final Duration COMMAND = Duration.ofSeconds(60);
    static Distribution distribution;
    static Path memory;
    static Path misbehaving;
    /** keystore.name to the one line its configuration must show. */
    static final Map<String, String> refusals = new LinkedHashMap<>();

    @BeforeAll
    static void setUp() throws Exception {
        memory = built("openkcm.plugin.memory");
        misbehaving = built("openkcm.plugin.misbehaving");
        distribution = Distribution.copy("plugin-bad-input")
                .environment("JAVA_OPTS", Distribution.JAVA_OPTS + " -Dopenkcm.log.console=warn");
        Path scripts = Files.createDirectories(distribution.path("plugins/bin"));

        Path missing = scripts.resolve("no-such-plugin");
        configure("bad-missing", missing, "0".repeat(64), "");
        refusals.put("bad-missing", "the plugin executable " + missing + " does not exist");

        Path plain = Files.writeString(scripts.resolve("not-executable.sh"), "#!/bin/sh\nsleep 30\n");
        configure("bad-plain", plain, sha256(plain), "");
        refusals.put("bad-plain", "the plugin executable " + plain + " is not executable");

        configure("bad-checksum", memory, "ab".repeat(32), "");
        refusals.put("bad-checksum", "the plugin executable " + memory + " has SHA-256 " + sha256(memory)
                + ", not the configured plugin.sha256 " + "ab".repeat(32) + "; refused");

        Path chatty = script(scripts, "chatty.sh", "echo 'starting up...'\necho '1|1|unix|/tmp/x|grpc|'\nsleep 30\n");
        configure("bad-chatty", chatty, sha256(chatty), "");
        refusals.put("bad-chatty", "the plugin printed \"starting up...\" on stdout before its handshake line;"
                + " a plugin must print nothing else first");

        Path silent = script(scripts, "silent.sh", "echo 'still thinking' >&2\nexec sleep 60\n");
        configure("bad-silent", silent, sha256(silent), "plugin.handshake.timeout.ms = L\"1500\"\n");
        refusals.put("bad-silent", "the plugin printed no handshake line within 1500 ms; its stderr ended with:"
                + " \"still thinking\"");

        configure("bad-version", memory, sha256(memory), "plugin.protocol.version = I\"2\"\n");
        refusals.put("bad-version", "the plugin speaks keystore plugin protocol version \"1\"; this host speaks version 2");

        configure("go-good", memory, sha256(memory), "");
        configure("go-malformed", misbehaving, sha256(misbehaving), "plugin.args = [ \"malformed-record\" ]\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.route-to-malformed.cfg"),
                "tiers = [ \"L4\" ]\nownerKind = \"TENANT\"\nownerId = \"broken\"\ntarget = \"go-malformed\"\n", UTF_8);
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (distribution != null) {
            Distribution.delete(distribution.path(""));
        }
    }

    @Test
    void eachBadPluginShowsItsOneLineInBackendsAndTheLogAndNothingElseIsAffected() throws Exception {
        try (Distribution.Running runtime = distribution.start()) {
            Distribution.eventually(COMMAND, () -> {
                String backends = runtime.shell("keystore:backends", COMMAND);
                for (Map.Entry<String, String> refusal : refusals.entrySet()) {
                    assertTrue(Pattern.compile("(?m)^" + refusal.getKey() + "\\s+NOT STARTED\\s.*: plugin "
                            + refusal.getKey() + " \\([^)]*\\) not started: " + Pattern.quote(refusal.getValue()) + "$")
                            .matcher(backends).find(), refusal.getKey() + ":\n" + backends);
                }
                for (String active : new String[] {"go-good", "go-malformed", "memory"}) {
                    assertTrue(Pattern.compile("(?m)^" + active + "\\s+ACTIVE\\s").matcher(backends).find(), backends);
                }
            });
            for (Map.Entry<String, String> refusal : refusals.entrySet()) {
                assertTrue(runtime.err().contains("plugin " + refusal.getKey() + " (") && runtime.err().contains(
                        ") not started: " + refusal.getValue()), refusal.getKey() + " in the log:\n" + runtime.err());
            }

            // Malformed records: the key's read fails with one line, which becomes the row's last failure.
            String generated = runtime.shell("keystore:generate --type L4 --owner tenant/broken b1", COMMAND);
            assertTrue(generated.contains("b1:1"), generated + runtime);
            String expected = "plugin go-malformed sent a malformed response for key b1:1: ";
            Distribution.eventually(COMMAND, () -> {
                String revealed = runtime.shell("keystore:reveal b1:1", COMMAND);
                assertTrue(revealed.contains(expected), revealed);
                String row = runtime.shell("keystore:backends", COMMAND).lines().filter(l -> l.startsWith("go-malformed "))
                        .findFirst().orElse("");
                assertTrue(row.contains(expected), row);
            });
            assertEquals(1, runtime.err().lines().filter(l -> l.startsWith("warning: ") && l.contains(expected)).count(),
                    "logged once:\n" + runtime.err());

            // Nothing else is affected: the other backends keep serving.
            String good = runtime.shell("keystore:generate --type L4 --owner tenant/acme g1", COMMAND);
            assertTrue(good.contains("g1:1"), good + runtime);
            assertTrue(runtime.shell("keystore:reveal g1:1", COMMAND).strip().lines().anyMatch(l -> l.strip()
                    .replaceAll("^keystore> ?", "").matches("[0-9a-f]{64}")), runtime::toString);
            String backends = runtime.shell("keystore:backends", COMMAND);
            assertFalse(Pattern.compile("(?m)^(go-good|memory)\\s+DOWN").matcher(backends).find(), backends);
        }
    }

    private static void configure(String name, Path executable, String sha256, String extra) throws IOException {
        Files.writeString(distribution.path("config/org.openkcm.keystore.plugin-" + name + ".cfg"),
                "plugin.path = \"" + executable + "\"\n"
                        + "plugin.sha256 = \"" + sha256 + "\"\n"
                        + "keystore.name = \"" + name + "\"\n"
                        + "keystore.tiers = [ \"L4\" ]\n" + extra, UTF_8);
    }

    private static Path script(Path dir, String name, String body) throws IOException {
        Path script = Files.writeString(dir.resolve(name), "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private static Path built(String property) throws IOException {
        String built = System.getProperty(property);
        if (built == null || !Files.isExecutable(Path.of(built))) {
            fail("no built plugin at " + built + " (" + property + "): build bundles/keystore-plugins first (it runs go build)");
        }
        return Path.of(built).toRealPath();
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            digest.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
