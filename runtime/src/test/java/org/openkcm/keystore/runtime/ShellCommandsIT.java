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
        return Distribution.copy("shell-" + test.getTestMethod().orElseThrow().getName()).keepEveryTierInMemory();
    }

    /** A copy with the shipped configuration: L2/L3 in the file backend, L4 in memory. */
    private static Distribution shipped(TestInfo test) throws Exception {
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
        assertTrue(Pattern.compile("(?m)^k1:1\\s+L3\\s+RETIRED\\s+tenant/acme\\s+eu\\s+AES\\s+256\\s+-\\s+3\\s+memory$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^k1:2\\s+L3\\s+ACTIVE\\s+tenant/acme\\s+eu\\s+AES\\s+256\\s+2030-01-01T00:00:00Z\\s+3\\s+memory$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^backend\\s+memory$").matcher(out).find(), "show names the backend\n" + out);
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
        assertTrue(Pattern.compile("(?m)^memory\\s+1\\s+1\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$").matcher(out).find(), out);
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
                Arguments.of("keystore:delete --all nosuch", "error: key nosuch not found: no version of it exists"),
                Arguments.of("keystore:generate --type L3 --owner tenant/acme --expiry 2020-01-01T00:00:00Z k",
                        "error: invalid expiry (key k:1): must be in the future"),
                Arguments.of("keystore:generate --type L4 --owner tenant/acme --parent nosuch:1 k",
                        "error: invalid parent (key k:1): must name a stored key; nosuch:1 does not exist"),
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

    private static final String GENERATE_USAGE = "usage: keystore:generate --type L2|L3|L4 --owner KIND/ID"
            + " [--algorithm ALGORITHM] [--size BITS] [--region REGION] [--parent NAME:VERSION] [--expiry INSTANT]"
            + " [--tags K=V,...] NAME";

    private static final String IMPORT_USAGE = "usage: keystore:import --file PATH|- --type L2|L3|L4 --owner KIND/ID"
            + " [--encoding ENCODING] [--algorithm ALGORITHM] [--size BITS] [--region REGION] [--parent NAME:VERSION]"
            + " [--expiry INSTANT] [--tags K=V,...] NAME";

    static Stream<Arguments> badUsage() {
        return Stream.of(
                Arguments.of("keystore:show", "usage: keystore:show NAME:VERSION (NAME:VERSION is missing)"),
                Arguments.of("show", "usage: keystore:show NAME:VERSION (NAME:VERSION is missing)"),
                Arguments.of("keystore:show a:1 b:1", "usage: keystore:show NAME:VERSION (unexpected argument b:1)"),
                // an unknown option where the command takes one argument: usage, not "invalid keyId"
                Arguments.of("keystore:show --x", "usage: keystore:show NAME:VERSION (unknown option --x)"),
                Arguments.of("keystore:generate --owner tenant/acme k", GENERATE_USAGE + " (--type is required)"),
                Arguments.of("keystore:generate --type L3 k", GENERATE_USAGE + " (--owner is required)"),
                Arguments.of("keystore:generate --type L3 --owner tenant/acme", GENERATE_USAGE + " (NAME is missing)"),
                Arguments.of("keystore:generate a b c d", GENERATE_USAGE + " (unexpected argument b)"),
                Arguments.of("keystore:generate --colour blue --type L3 --owner tenant/acme k",
                        GENERATE_USAGE + " (unknown option --colour)"),
                Arguments.of("keystore:generate --type L3 k --owner", GENERATE_USAGE + " (--owner needs a value)"),
                Arguments.of("keystore:import --type L4 --owner node/n k", IMPORT_USAGE + " (--file is required)"),
                Arguments.of("keystore:import --file x --type L4 --owner node/n", IMPORT_USAGE + " (NAME is missing)"),
                Arguments.of("keystore:status k:1", "usage: keystore:status [--revision REV] NAME:VERSION"
                        + " ACTIVE|DEPRECATED|RETIRED (ACTIVE|DEPRECATED|RETIRED is missing)"),
                Arguments.of("keystore:delete", "usage: keystore:delete [--all] [--force] NAME:VERSION|NAME (NAME:VERSION|NAME is missing)"),
                Arguments.of("keystore:reconcile --rm", "usage: keystore:reconcile [--remove] [ID]... (unknown option --rm)"),
                Arguments.of("keystore:reconcile --remove", "usage: keystore:reconcile [--remove] [ID]... (--remove needs the "
                        + "ids of the findings to remove, from a report)"),
                Arguments.of("keystore:health now", "usage: keystore:health (unexpected argument now)"),
                Arguments.of("help a b", "usage: keystore:help [COMMAND] (unexpected argument b)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badUsage")
    void badUsagePrintsTheCommandsUsageLineAndExits2(String command, String usageLine) throws Exception {
        Distribution distribution = Distribution.copy("shell-bad-usage");

        Distribution.Result result = distribution.run("-c", command);

        assertEquals(2, result.exit(), result::toString);
        assertEquals(List.of(usageLine), result.errLines(), result::toString);
        assertEquals("", result.out(), result::toString);
    }

    @Test
    void inAScriptBadUsageNamesTheLineAndStopsTheScript(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);

        Distribution.Result result = script(distribution, "keystore:list", "keystore:show", "keystore:list");

        assertEquals(2, result.exit(), result::toString);
        assertEquals(List.of(distribution.path("test.gosh") + ":2: usage: keystore:show NAME:VERSION (NAME:VERSION is missing)"),
                result.errLines(),
                result::toString);
        assertEquals(1, result.out().split("0 keys", -1).length - 1, "the rest of the script is skipped\n" + result);
    }

    @Test
    void helpListsEveryKeystoreCommandAndMarksRequiredOptions(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);

        Distribution.Result all = distribution.run("-c", "help");
        Distribution.Result generate = distribution.run("-c", "help keystore:generate");
        Distribution.Result importHelp = distribution.run("-c", "help import");
        Distribution.Result lb = distribution.run("-c", "help lb");

        assertEquals(0, all.exit(), all::toString);
        List<String> listed = all.out().lines().map(String::strip).toList();
        for (String command : List.of("list", "show", "generate", "import", "rotate", "status", "expiry", "tags", "delete",
                "reveal", "backends", "routes", "health", "migrate", "rewrap", "cache", "reconcile")) {
            assertTrue(listed.contains("keystore:" + command), () -> "keystore:" + command + " is not listed\n" + all);
        }
        assertTrue(listed.contains("felix:lb") && listed.contains("felix:help"), "Gogo's commands are still listed\n" + all);
        assertEquals(0, generate.exit(), generate::toString);
        String text = generate.out();
        assertTrue(text.contains("\n" + GENERATE_USAGE + "\n"), text);
        String required = text.substring(text.indexOf("required options:"), text.indexOf("   options:"));
        assertTrue(Pattern.compile("(?m)^\\s+--type L2\\|L3\\|L4\\s+tier$").matcher(required).find(), required);
        assertTrue(Pattern.compile("(?m)^\\s+--owner KIND/ID\\s+owner").matcher(required).find(), required);
        assertFalse(text.contains("[optional]"), text);
        assertTrue(importHelp.out().startsWith("keystore:import - import key material"), importHelp::toString);
        assertTrue(importHelp.out().contains("--file PATH|-"), importHelp::toString);
        assertEquals(0, lb.exit(), lb::toString);
        assertTrue(lb.out().contains("lb - "), "other commands keep Gogo's help\n" + lb);
    }

    @Test
    void aKeyThatIsAParentIsDeletedOnlyWithForceAndGenerateNeedsAnActiveParent(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        String[] family = {"keystore:generate --type L3 --owner tenant/acme p", "keystore:generate --type L4 --owner tenant/acme --parent p:1 c"};

        Distribution.Result refused = script(distribution, family[0], family[1], "keystore:delete p:1");
        Distribution.Result refusedAll = script(distribution, family[0], family[1], "keystore:delete --all p");
        Distribution.Result forced = script(distribution, family[0], family[1], "keystore:delete --force p:1", "keystore:list");
        Distribution.Result deprecatedParent = script(distribution, family[0], "keystore:status p:1 DEPRECATED",
                "keystore:generate --type L4 --owner tenant/acme --parent p:1 c");

        assertEquals(1, refused.exit(), refused::toString);
        String at = "error: " + distribution.path("test.gosh") + ":3: ";
        assertEquals(List.of(at + "refused by policy (key p:1): it is the parent of [c:1]; delete those first, or give --force"),
                refused.errLines());
        assertEquals(1, refusedAll.exit(), refusedAll::toString);
        assertEquals(List.of(at + "refused by policy: key p is the parent of [c:1]; delete those first, or give --force"),
                refusedAll.errLines());
        assertEquals(0, forced.exit(), forced::toString);
        String list = forced.out().substring(forced.out().lastIndexOf("ID "));
        assertTrue(list.contains("c:1") && !list.contains("p:1") && list.strip().endsWith("1 key"), list);
        assertEquals(1, deprecatedParent.exit(), deprecatedParent::toString);
        assertEquals(List.of(at + "refused by policy (key c:1): the parent p:1 is DEPRECATED; a new key needs an ACTIVE parent"),
                deprecatedParent.errLines());
    }

    @Test
    void healthSucceedsWhenEveryTierCanBeServed(TestInfo test) throws Exception {
        Distribution distribution = shipped(test);

        Distribution.Result result = distribution.run("-c", "keystore:health");

        assertEquals(0, result.exit(), result::toString);
        assertEquals("", result.err(), result::toString);
        String out = result.out();
        assertTrue(Pattern.compile("(?m)^backend\\s+memory\\s+ACTIVE\\s").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^backend\\s+file\\s+ACTIVE\\s").matcher(out).find(), out);
        for (String tier : List.of("L2", "L3")) {
            assertTrue(Pattern.compile("(?m)^tier " + tier + "\\s+\\(default\\) -> file\\s+servable$").matcher(out).find(), out);
        }
        assertTrue(Pattern.compile("(?m)^tier L4\\s+route l4-to-memory -> memory\\s+servable$").matcher(out).find(), out);
        assertTrue(out.strip().endsWith("health: every tier (L2, L3, L4) can be served"), out);
    }

    /** A copy with a second backend that cannot be reached (an OpenBao address nothing listens on) taking L2 and L3. */
    private static Distribution withUnreachableBackend(TestInfo test) throws Exception {
        Distribution distribution = shipped(test).environment("OPENKCM_SECRET_TEST_UNUSED_TOKEN", "not-a-real-token");
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort(); // closed again: nothing listens there
        }
        Files.writeString(distribution.path("config/org.openkcm.keystore.openbao-vault.cfg"), String.join("\n",
                "address = http://127.0.0.1:" + port, "token.source = env:OPENKCM_SECRET_TEST_UNUSED_TOKEN",
                "keystore.name = vault", "keystore.tiers = L2,L3", "retry.max.attempts = 1", "health.timeout.ms = 500", ""));
        Files.writeString(distribution.path("config/org.openkcm.keystore.route-persistent.cfg"), "tiers = L2,L3\ntarget = vault\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.router.cfg"), "health.interval = 200\nhealth.failures = 1\n");
        return distribution;
    }

    @Test
    void healthFailsNamingTheTiersThatCannotBeServedAndWhy(TestInfo test) throws Exception {
        Distribution distribution = withUnreachableBackend(test);

        Distribution.eventually(COMMAND, () -> {
            Distribution.Result result = distribution.run("-c", "keystore:health");
            assertEquals(1, result.exit(), result::toString);
            assertEquals(List.of("error: unavailable: tiers L2, L3 cannot be served"), result.errLines(), result::toString);
            String out = result.out();
            assertTrue(Pattern.compile("(?m)^backend\\s+vault\\s+DOWN\\s.*unreachable").matcher(out).find(), out);
            assertTrue(Pattern.compile("(?m)^tier L2\\s+route persistent -> vault\\s+NOT servable\\s+backend vault is DOWN: ")
                    .matcher(out).find(), out);
            assertTrue(Pattern.compile("(?m)^tier L4\\s+route l4-to-memory -> memory\\s+servable$").matcher(out).find(), out);
        });
    }

    @Test
    void listNamesTheBackendsItCouldNotRead(TestInfo test) throws Exception {
        Distribution distribution = withUnreachableBackend(test);

        Distribution.Result result = script(distribution, "keystore:generate --type L4 --owner tenant/acme k4", "keystore:list");

        assertEquals(0, result.exit(), result::toString);
        String list = result.out().substring(result.out().lastIndexOf("ID "));
        assertTrue(Pattern.compile("(?m)^k4:1\\s+L4\\s.*\\smemory$").matcher(list).find(), list);
        assertTrue(Pattern.compile("(?m)^1 key\\nwarning: not listed, backend vault: .+$").matcher(list).find(), list);
    }

    @Test
    void reconcileExplainsKeysTheMemoryBackendLostAtARestartAndRemoveForgetsThem(TestInfo test) throws Exception {
        Distribution distribution = fresh(test);
        assertEquals(0, distribution.run("-c", "keystore:generate --type L4 --owner tenant/acme k1").exit());

        // a new run: the memory backend is empty, the location index (data/) still records k1:1 there
        Distribution.Result report = distribution.run("-c", "keystore:reconcile");
        Distribution.Result removed = distribution.run("-c", "keystore:reconcile --remove missing/memory/k1:1");
        Distribution.Result after = distribution.run("-c", "keystore:reconcile");

        assertEquals(0, report.exit(), report::toString);
        assertTrue(Pattern.compile("(?m)^memory\\s+0\\s+1\\s+0\\s+0\\s+0\\s+1\\s+0\\s+0\\s+0\\s+0$").matcher(report.out()).find(),
                report::toString);
        assertTrue(report.out().contains("missing memory k1:1  id missing/memory/k1:1\n"), report::toString);
        assertTrue(report.out().contains("(a volatile backend such as memory loses its keys when it or the runtime restarts);"
                + " keystore:reconcile --remove with their ids forgets them"), report::toString);
        assertEquals(0, removed.exit(), removed::toString);
        assertTrue(removed.out().contains("missing memory k1:1 (forgotten)"), removed::toString);
        assertFalse(removed.out().contains("--remove with their ids forgets them"), removed::toString);
        assertEquals(0, after.exit(), after::toString);
        assertTrue(Pattern.compile("(?m)^memory\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$").matcher(after.out()).find(),
                after::toString);
        assertFalse(after.out().contains("missing"), after::toString);
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
                    "keystore:delete --all nosuch",
                    "keystore:generate --type L4 --owner tenant/acme --parent nosuch:1 k3",
                    "keystore:generate --type L4 --owner tenant/acme --expiry 2020-01-01T00:00:00Z k4",
                    "keystore:generate --type L4 --owner tenant/acme --parent k1:1 --colour blue k5",
                    "keystore:rotate nosuch")) {
                runtime.shell(bad, COMMAND);
            }

            assertEquals(before, withoutPrompts(runtime.shell("keystore:show k1:1", COMMAND)));
            String list = runtime.shell("keystore:list", COMMAND);
            assertTrue(list.contains("1 key") && !list.contains("k2") && !list.contains("k3") && !list.contains("k4")
                    && !list.contains("k5"), list);
            Matcher revision = Pattern.compile("revision\\s+(\\d+)").matcher(before);
            assertTrue(revision.find() && revision.group(1).equals("1"), before);
        }
    }

    /** The interactive shell's output, without the "keystore> " prompts the console prints between commands. */
    private static String withoutPrompts(String output) {
        return output.replaceAll("(?m)^keystore> ?", "").strip();
    }
}
