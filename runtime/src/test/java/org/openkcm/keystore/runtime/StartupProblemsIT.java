package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Start-up problems on the console, from the built distribution: a KEK file others may read, a
 * {@code config.yaml} that does not parse, an unknown {@code OPENKCM__} variable and a backend
 * configuration its component refuses each give one clear line on standard error, at every log
 * level, and {@code --daemon} and {@code -c} exit with 3 at once instead of waiting for readiness;
 * the in-memory default refuses L2/L3 keys (fail closed); {@code $[env:NAME]} in a {@code .cfg}
 * is resolved; a refused backend configuration is one NOT STARTED row of {@code keystore:backends}.
 */
@Timeout(120)
class StartupProblemsIT {

    private static final String NOT_STARTED = "error: not started: the starting configuration is invalid";

    private static Distribution fresh(TestInfo test) throws Exception {
        return Distribution.copy("startup-" + test.getTestMethod().orElseThrow().getName());
    }

    private static Distribution quiet(Distribution distribution) {
        return distribution.environment("JAVA_OPTS", Distribution.JAVA_OPTS + " -Dopenkcm.log.console=off");
    }

    /** The lines of standard error that say "error:", without the closing summary. */
    private static List<String> errors(Distribution.Result result) {
        return result.errLines().stream().filter(l -> l.startsWith("error: ") && !l.startsWith(NOT_STARTED)).toList();
    }

    private static void assertNoJavaNoise(Distribution.Result result) {
        assertFalse(result.err().contains("getClass()"), result::toString);
        assertFalse(result.err().contains("InvocationTargetException"), result::toString);
        assertFalse(result.err().contains("\tat "), () -> "no stack trace\n" + result);
        assertFalse(result.err().contains("not ready after"), () -> "no wait for readiness\n" + result);
    }

    @Test
    void aKekFileOthersMayReadIsOneLineAndExit3(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Distribution.Result first = distribution.run("-c", "scr:list");
        assertEquals(0, first.exit(), first::toString);
        Path kek = distribution.path("data/kek/local.kek");
        Files.setPosixFilePermissions(kek, PosixFilePermissions.fromString("rw-r--r--"));

        for (String[] args : List.of(new String[] {"-c", "keystore:list"}, new String[] {"--daemon"})) {
            Distribution.Result result = distribution.run(args);
            assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
            List<String> errors = errors(result);
            assertEquals(1, errors.size(), result::toString);
            assertTrue(errors.get(0).contains("failed to activate: refused by policy: the KEK file " + kek
                    + " is readable by group and others (mode 0644); a KEK file must be owner-only: chmod 600 " + kek),
                    result::toString);
            assertTrue(result.err().contains(NOT_STARTED), result::toString);
            assertNoJavaNoise(result);
            assertFalse(result.out().contains("started in"), result::toString);
        }
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(kek)),
                "the file is left as it was");
    }

    @Test
    void aConfigYamlThatDoesNotParseIsOneLineWithFileAndLineAndExit3EvenWithTheLogOff(TestInfo test)
            throws Exception {
        Distribution distribution = quiet(fresh(test));
        Path yaml = distribution.path("config/config.yaml");
        Files.writeString(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: memory\n");
        Distribution.Result result = distribution.run("--daemon");
        assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
        List<String> errors = errors(result);
        assertEquals(1, errors.size(), result::toString);
        assertTrue(errors.get(0).contains(yaml + ":3: not valid YAML"), result::toString);
        assertNoJavaNoise(result);
    }

    @Test
    void anUnknownOpenkcmVariableIsOneLineAndExit3(TestInfo test) throws Exception {
        Distribution distribution = fresh(test).environment("OPENKCM__MEMORY__DEFAULT__NO_SUCH_PROPERTY", "1");
        Distribution.Result result = distribution.run("serve");
        assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
        List<String> errors = errors(result);
        assertEquals(1, errors.size(), result::toString);
        assertTrue(errors.get(0).contains("OPENKCM__MEMORY__DEFAULT__NO_SUCH_PROPERTY: unknown property "
                + "'NO_SUCH_PROPERTY' of org.openkcm.keystore.memory"), result::toString);
        assertNoJavaNoise(result);
    }

    @Test
    void aMissingOpenBaoTokenIsOneLineWithTheRealCauseAndExit3EvenWithTheLogOff(TestInfo test) throws Exception {
        Distribution distribution = quiet(fresh(test));
        Files.writeString(distribution.path("config/org.openkcm.keystore.openbao-main.cfg"),
                "address = \"http://127.0.0.1:1\"\nauth.method = \"token\"\n"
                        + "token.source = \"env:OPENKCM_SECRET_TEST_TOKEN_NOT_SET\"\nkeystore.name = \"openbao\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\" ]\n");
        Distribution.Result result = distribution.run("--daemon");
        assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
        List<String> errors = errors(result);
        assertEquals(1, errors.size(), result::toString);
        assertTrue(errors.get(0).contains("failed to activate: token.source: environment variable "
                + "OPENKCM_SECRET_TEST_TOKEN_NOT_SET is not set"), result::toString);
        assertTrue(errors.get(0).contains("org.openkcm.keystore.openbao-main.cfg"), result::toString);
        assertNoJavaNoise(result);
    }

    @Test
    void aTokenFromOutsideTheDefaultAllowListIsOneLineNamingTheSourceAndTheAllowedOnes(TestInfo test) throws Exception {
        Distribution distribution = quiet(fresh(test));
        // a readable file outside <home>/secrets, holding something that would be sent as a token
        Path outside = Files.writeString(distribution.path("data").resolveSibling("outside-token"), "s.outside\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.openbao-main.cfg"),
                "address = \"http://127.0.0.1:1\"\nauth.method = \"token\"\n"
                        + "token.source = \"file:" + outside + "\"\nkeystore.name = \"openbao\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\" ]\n");
        Distribution.Result result = distribution.run("--daemon");
        assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
        List<String> errors = errors(result);
        assertEquals(1, errors.size(), result::toString);
        Path secrets = distribution.path("secrets").toAbsolutePath();
        assertTrue(errors.get(0).contains("token.source = 'file:" + outside + "' is not an allowed secret source: a file"
                + " must be inside the secrets folder " + secrets + " (openkcm.secrets.dir), named without '..';"
                + " allowed: env:OPENKCM_SECRET_… or file:" + secrets + "/…"), result::toString);
        assertTrue(errors.get(0).contains("org.openkcm.keystore.openbao-main.cfg"), result::toString);
        assertEquals("s.outside\n", Files.readString(outside), "nothing changed");
        assertNoJavaNoise(result);
    }

    @Test
    void theVolatileDefaultRefusesL3KeysAndTakesL4(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        // The shipped defaults keep L2/L3 in the file backend: make the volatile memory backend the
        // default target of every tier, as a configuration mistake would.
        Files.writeString(distribution.path("config/org.openkcm.keystore.router.cfg"), "default.target = \"memory\"\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.memory-default.cfg"),
                "keystore.name = \"memory\"\nkeystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n");
        Files.delete(distribution.path("config/org.openkcm.keystore.route-l4-to-memory.cfg"));
        Distribution.Result l3 = distribution.run("-c", "keystore:generate --type L3 --owner tenant/acme k3");
        assertEquals(1, l3.exit(), l3::toString);
        assertTrue(l3.err().contains("backend memory for L3 is not available: it is the default target and volatile"),
                l3::toString);
        Distribution.Result l4 = distribution.run("-c", "keystore:generate --type L4 --owner tenant/acme k4");
        assertEquals(0, l4.exit(), l4::toString);
    }

    @Test
    void anEnvReferenceInACfgIsResolvedForTheComponent(TestInfo test) throws Exception {
        Distribution distribution = fresh(test).environment("OPENKCM_TEST_EDGE_NAME", "edge-from-env");
        Files.writeString(distribution.path("config/org.openkcm.keystore.memory-edge.cfg"),
                "keystore.name = \"$[env:OPENKCM_TEST_EDGE_NAME]\"\nkeystore.tiers = [ \"L4\" ]\n");
        Distribution.Result result = distribution.run("-c", "keystore:backends");
        assertEquals(0, result.exit(), result::toString);
        assertTrue(result.out().contains("edge-from-env"), result::toString);
        assertFalse(result.out().contains("$[env:"), result::toString);
    }

    @Test
    void aRefusedBackendConfigurationIsOneNotStartedRowOfTheBackends(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Files.writeString(distribution.path("config/org.openkcm.keystore.memory-broken.cfg"),
                "keystore.name = \"broken\"\nkeystore.tiers = [ \"L2\", \"L9\" ]\n");
        // The interactive console stays up after a failed start, to look at what failed.
        try (Distribution.Running runtime = distribution.start()) {
            Distribution.eventually(Duration.ofSeconds(30), () -> {
                String backends = runtime.shell("keystore:backends", Duration.ofSeconds(30));
                // Felix SCR keeps the registration of the refused immediate component: one row tells both
                List<String> rows = backends.lines().filter(line -> line.startsWith("broken ")).toList();
                assertEquals(1, rows.size(), backends);
                assertTrue(rows.get(0).matches("broken\\s+NOT STARTED\\s+0\\s+\\d+\\s+org\\.openkcm\\.keystore\\."
                        + "keystore-memory\\s.*org\\.openkcm\\.keystore\\.memory~broken: invalid keystore\\.tiers\\[1\\]: "
                        + "must be one of L2, L3, L4\\s*"), backends);
            });
        }
    }
}
