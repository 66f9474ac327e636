package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code keystore:} shell commands against the built runtime, run as a separate process:
 * scripts that generate, read, list and manage keys; the exact error line and exit status of each
 * bad input; that bad input changes nothing; and that material is printed only when revealed.
 */
@Timeout(120)
class ShellCommandsIT {
    private static final Duration COMMAND = Duration.ofSeconds(20);
    /** Material the tests import, so they can look for it in every output. */
    private static final String MATERIAL_HEX = "00112233445566778899aabbccddeeff";

    private static Distribution fresh(TestInfo test) throws Exception {
        return Distribution.copy("shell-" + test.getTestMethod().orElseThrow().getName());
    }

    private static Distribution.Result script(Distribution distribution, String... lines) throws Exception {
        Path script = distribution.path("test.gosh");
        Files.write(script, List.of(lines));
        return distribution.run(script.toString());
    }

    @Test
    void aScriptGeneratesReadsListsAndManagesKeys(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Files.writeString(distribution.path("material.hex"), MATERIAL_HEX + "\n");

        Distribution.Result result = script(distribution,
                "keystore:generate --type L3 --owner tenant/acme --region eu --tags env=prod,team=a k1",
                "keystore:rotate k1",
                "keystore:status k1:1 RETIRED",
                "keystore:tags k1:2 env=dev",
                "keystore:expiry k1:2 2030-01-01T00:00:00Z",
                "keystore:import --file material.hex --encoding hex --type L4 --size 128 --owner node/n1 imported",
                "keystore:list --owner-kind tenant",
                "keystore:delete k1:1",
                "keystore:list");

        assertEquals(0, result.exit(), result::toString);
        assertEquals("", result.err(), result::toString);
        String out = result.out();
        assertTrue(Pattern.compile("(?m)^k1:1\\s+L3\\s+RETIRED\\s+tenant/acme\\s+eu\\s+AES\\s+256\\s+-\\s+3$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^k1:2\\s+L3\\s+ACTIVE\\s+tenant/acme\\s+eu\\s+AES\\s+256\\s+2030-01-01T00:00:00Z\\s+3$").matcher(out).find(), out);
        assertTrue(out.contains("tags       {env=dev}"), out);
        assertTrue(out.contains("deleted k1:1"), out);
        String lastList = out.substring(out.lastIndexOf("ID "));
        assertTrue(Pattern.compile("(?m)^k1:2\\s+L3\\s+ACTIVE").matcher(lastList).find(), lastList);
        assertTrue(Pattern.compile("(?m)^imported:1\\s+L4\\s+ACTIVE\\s+node/n1").matcher(lastList).find(), lastList);
        assertFalse(lastList.contains("k1:1"), lastList);
        assertTrue(lastList.strip().endsWith("2 keys"), lastList);
        assertFalse(out.toLowerCase().contains(MATERIAL_HEX), "imported material was printed");
    }

    @Test
    void theAdminCommandsDescribeBackendsRoutesCachesAndMaintenance(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);

        Distribution.Result result = script(distribution,
                "keystore:generate --type L3 --owner tenant/acme k1",
                "keystore:backends",
                "keystore:routes",
                "keystore:cache",
                "keystore:rewrap",
                "keystore:reconcile",
                "keystore:migrate --type L3");

        assertEquals(0, result.exit(), result::toString);
        assertEquals("", result.err(), result::toString);
        String out = result.out();
        assertTrue(Pattern.compile("(?m)^memory\\s+ACTIVE\\s+0\\s+\\d+\\s+org\\.openkcm\\.keystore\\.keystore-memory\\s").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^file\\s+ACTIVE\\s+0\\s+\\d+\\s+org\\.openkcm\\.keystore\\.keystore-file\\s").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^\\(default\\)\\s+any\\s.*\\sfile\\s+in force$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^RECORDS\\s+L3\\s").matcher(out).find() && out.contains("MATERIAL"), out);
        assertTrue(out.contains(": 1 examined, 0 re-wrapped, 1 already current, 0 vanished, 0 failed"), out);
        assertTrue(Pattern.compile("(?m)^file\\s+1\\s+1\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$").matcher(out).find(), out);
        assertTrue(out.contains("migration: 1 examined, 0 moved, 1 in place, 0 failed"), out);
    }

    @Test
    void materialIsPrintedOnlyWhenRevealedForOneKey(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        Files.writeString(distribution.path("material.hex"), MATERIAL_HEX + "\n");

        Distribution.Result quiet = script(distribution,
                "keystore:import --file material.hex --encoding hex --type L4 --size 128 --owner node/n1 imported",
                "keystore:show imported:1",
                "keystore:list",
                "keystore:rotate imported");
        Distribution.Result revealed = script(distribution,
                "keystore:import --file material.hex --encoding hex --type L4 --size 128 --owner node/n1 imported",
                "keystore:reveal imported:1");

        assertEquals(0, quiet.exit(), quiet::toString);
        assertFalse((quiet.out() + quiet.err()).toLowerCase().contains(MATERIAL_HEX), quiet::toString);
        assertEquals(0, revealed.exit(), revealed::toString);
        assertEquals(MATERIAL_HEX, revealed.out().lines().reduce((a, b) -> b).orElseThrow().strip());
        assertFalse(revealed.err().contains(MATERIAL_HEX), revealed::toString);
        try (Stream<Path> files = Files.walk(distribution.path("data"))) {
            for (Path file : files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".log")).toList()) {
                assertFalse(Files.readString(file).contains(MATERIAL_HEX), "material in " + file);
            }
        }
    }

    static Stream<Arguments> badInput() {
        return Stream.of(
                Arguments.of("keystore:show nosuch:1", "error: key nosuch:1 not found"),
                Arguments.of("keystore:status k:1 BOGUS", "error: invalid status: must be one of ACTIVE, DEPRECATED, RETIRED"),
                Arguments.of("keystore:generate --owner tenant/acme k", "error: invalid --type: is required"),
                Arguments.of("keystore:generate --type L3 k", "error: invalid --owner: is required"),
                Arguments.of("keystore:show", "error: Cannot coerce show() to any of [(String)]"),
                Arguments.of("keystore:generate --type L3 --owner tenant/acme --size 100 k",
                        "error: invalid keySize: AES keys must be one of [128, 192, 256] bits"),
                Arguments.of("keystore:generate --type L3 --owner tenant/acme --algorithm DES k",
                        "error: invalid algorithm: must be one of [AES, HMAC-SHA256, HMAC-SHA384, HMAC-SHA512]"),
                Arguments.of("keystore:show ../etc:1",
                        "error: invalid keyId.name: must start with a letter or digit and contain only letters, digits, '.', '_' or '-'"),
                Arguments.of("keystore:import --type L4 --owner node/n --file /nonexistent k",
                        "error: invalid --file: must name a readable file (or - for standard input)"),
                Arguments.of("keystore:list --page-size 0", "error: invalid --page-size: must be a whole number greater than 0"),
                Arguments.of("keystore:list --owner acme", "error: invalid --owner: must be written as kind/id, kind one of tenant, service, node"),
                Arguments.of("keystore:expiry k:1 tomorrow",
                        "error: invalid expiry: must be an ISO-8601 instant such as 2027-01-01T00:00:00Z, or none"),
                Arguments.of("keystore:delete nosuch:1", "error: key nosuch:1 not found"),
                Arguments.of("keystore:migrate --type L9", "error: invalid --type: must be one of L2, L3, L4"),
                Arguments.of("keystore:migrate --owner acme",
                        "error: invalid --owner: must be written as kind/id, kind one of tenant, service, node"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInput")
    void badInputPrintsOneErrorLineAndExitsNonZero(String command, String errorLine, TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy("shell-bad-input");

        Distribution.Result result = distribution.run("-c", command);

        assertEquals(1, result.exit(), result::toString);
        assertEquals(List.of(errorLine), result.errLines(), result::toString);
        assertEquals("", result.out(), result::toString);
    }

    @Test
    void badInputChangesNothing(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        try (Distribution.Running runtime = distribution.start()) {
            Distribution.eventually(COMMAND, () -> assertTrue(
                    runtime.shell("keystore:list", COMMAND).contains("0 keys"), runtime::toString));
            runtime.shell("keystore:generate --type L3 --owner tenant/acme --tags env=prod k1", COMMAND);
            String before = withoutPrompts(runtime.shell("keystore:show k1:1", COMMAND));

            for (String bad : List.of(
                    "keystore:status k1:1 BOGUS",
                    "keystore:status --revision 7 k1:1 RETIRED",
                    "keystore:tags k1:1 \"bad key=x\"",
                    "keystore:expiry k1:1 tomorrow",
                    "keystore:generate --type L3 --owner tenant/acme k1",
                    "keystore:generate --type L3 --owner tenant/acme --size 100 k2",
                    "keystore:delete k1:9",
                    "keystore:rotate nosuch")) {
                runtime.shell(bad, COMMAND);
            }

            assertEquals(before, withoutPrompts(runtime.shell("keystore:show k1:1", COMMAND)));
            String list = runtime.shell("keystore:list", COMMAND);
            assertTrue(list.contains("1 key") && !list.contains("k2"), list);
            Matcher revision = Pattern.compile("revision\\s+(\\d+)").matcher(before);
            assertTrue(revision.find() && revision.group(1).equals("1"), before);
        }
    }

    /** The interactive shell's output, without the "g! " prompts Gogo prints between commands. */
    private static String withoutPrompts(String output) {
        return output.replace("g! ", "").strip();
    }
}
