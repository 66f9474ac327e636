package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * kill -9 in the middle of each step of each multi-step operation, against the built runtime on a
 * real OpenBao dev server (which outlives the runtime: the memory backend would lose everything at
 * the kill). The runtime copy holds the crash tests' fragment of the core ({@code testing/crash-seam},
 * not shipped) and is started with {@code -Dopenkcm.test.haltAt=kind:step:when}, which kills the JVM
 * there with {@code kill -9} (exit status 137: no shutdown hook, no finally);
 * then it is started again, recovery runs at activation, and {@code keystore:reconcile} must find
 * zero orphans and zero missing keys, and every acknowledged key must still be readable.
 * <p>
 * Migration too: two OpenBao backend instances on the same dev server under different path
 * prefixes ({@code openbao} and {@code openbao-b}); a key stored at the first, a route {@code .cfg}
 * that sends its owner to the second, then {@code keystore:migrate} killed at each step. After the
 * restart the key is readable, and held exactly once: a copy left in the backend the location index
 * does not point at would be counted an orphan by reconciliation.
 */
class CrashRecoveryIT {
    static final Duration COMMAND = Duration.ofSeconds(60);
    /** The second OpenBao backend instance, the target of the migrations. */
    static final String SECOND = "openbao-b";
    static final List<String> BACKENDS = List.of("openbao", SECOND);
    static final List<String> ROWS = new ArrayList<>();
    static Distribution distribution;

    @BeforeAll
    static void setUp() throws Exception {
        OpenBaoDevServer bao = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        distribution = Distribution.copy("crash-recovery");
        // The seam is not in the shipped runtime: its fragment joins the core in this copy only.
        Path seam = Path.of("target", "test-bundles", "testing-crash-seam.jar");
        assertTrue(Files.isRegularFile(seam), "no crash seam fragment at " + seam.toAbsolutePath()
                + " (the runtime build copies it there before the integration tests)");
        Files.copy(seam, distribution.path("bundle/testing-crash-seam.jar"));
        String token = distribution.secretFile("bao-token", bao.tokenFile);
        Files.writeString(distribution.path("config/org.openkcm.keystore.openbao-crash.cfg"),
                "address = \"" + bao.address + "\"\n"
                        + "token.source = \"" + token + "\"\n"
                        + "path.prefix = \"crash-" + System.nanoTime() + "\"\n"
                        + "keystore.name = \"openbao\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.openbao-crashb.cfg"),
                "address = \"" + bao.address + "\"\n"
                        + "token.source = \"" + token + "\"\n"
                        + "path.prefix = \"crash-b-" + System.nanoTime() + "\"\n"
                        + "keystore.name = \"" + SECOND + "\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n");
        Files.writeString(distribution.path("config/org.openkcm.keystore.router.cfg"), "default.target = \"openbao\"\n");
        // every tier to OpenBao: the shipped route of L4 keys to the volatile memory backend would lose them at the kill
        Files.delete(distribution.path("config/org.openkcm.keystore.route-l4-to-memory.cfg"));
    }

    @AfterAll
    static void tearDown() throws IOException {
        StringBuilder out = new StringBuilder("\nkill -9 matrix on the runtime (OpenBao dev server), " + ROWS.size()
                + " cases\n| operation | step | kill | exit | after restart: reconcile | acknowledged keys |\n");
        ROWS.forEach(r -> out.append(r).append('\n'));
        System.out.println(out);
        if (distribution != null) {
            Distribution.delete(distribution.path(""));
        }
    }

    @Test
    void aKillAtEveryStepOfEveryMultiStepOperationIsRepairedAtTheNextStart() throws Exception {
        String[] whens = {"before", "after", "recorded"};
        int n = 0;
        for (String when : whens) {
            for (int step = 0; step < 2; step++) {
                String name = "r" + (++n);
                crashCase("rotate", step, when, List.of("keystore:generate --type L3 --owner tenant/acme " + name),
                        "keystore:rotate " + name, List.of(name + ":1"));
            }
            for (int step = 0; step < 2; step++) {
                String parent = "p" + (++n);
                String child = "c" + n;
                crashCase("generate", step, when, List.of("keystore:generate --type L3 --owner tenant/acme " + parent),
                        "keystore:generate --type L4 --owner tenant/acme --parent " + parent + ":1 " + child,
                        List.of(parent + ":1"));
            }
            String doomed = "d" + (++n);
            crashCase("delete-all-versions", 0, when, List.of("keystore:generate --type L3 --owner tenant/acme " + doomed,
                    "keystore:rotate " + doomed), "keystore:delete --all " + doomed, List.of());
        }
    }

    @Test
    void aKillAtEveryStepOfAMigrationBetweenTwoOpenBaoBackendsIsRepairedAtTheNextStart() throws Exception {
        int n = 0;
        int moved = 0;
        for (String step : List.of("copy-to-target", "verify-target", "switch-location", "delete-source")) {
            for (String when : List.of("before", "after", "recorded")) {
                String tenant = "mig" + (++n);
                String name = "m" + n;
                // past the pivot (switch-location recorded) recovery finishes the move; before it, undoes it
                if (step.equals("delete-source") || (step.equals("switch-location") && when.equals("recorded"))) {
                    moved++;
                }
                // the key is stored at openbao (the default target), then a route sends its owner to openbao-b
                crashCase("migrate", step, when, List.of("keystore:generate --type L3 --owner tenant/" + tenant + " " + name,
                        "route:" + tenant), "keystore:migrate --owner tenant/" + tenant, List.of(name + ":1"), moved);
            }
        }
    }

    /** Writes the route .cfg that sends the tenant's keys to the second backend; waits until it is in force. */
    private static void routeToSecond(Distribution.Running runtime, String tenant) throws Exception {
        Files.writeString(distribution.path("config/org.openkcm.keystore.route-" + tenant + ".cfg"),
                "ownerKind = \"TENANT\"\nownerId = \"" + tenant + "\"\ntarget = \"" + SECOND + "\"\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String out = "";
        Pattern inForce = Pattern.compile(tenant + "\\s.*" + SECOND + "\\s+in force");
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:routes", COMMAND);
            if (inForce.matcher(out).find()) {
                return;
            }
            Thread.sleep(250);
        }
        fail("the route " + tenant + " -> " + SECOND + " is not in force: " + out + "\n" + runtime);
    }

    private void crashCase(String kind, Object step, String when, List<String> setUp, String operation,
            List<String> acknowledged) throws Exception {
        crashCase(kind, step, when, setUp, operation, acknowledged, -1);
    }

    /**
     * @param secondHolds how many keys openbao-b must hold, and its location index place there,
     *            after recovery (-1: not checked)
     */
    private void crashCase(String kind, Object step, String when, List<String> setUp, String operation,
            List<String> acknowledged, int secondHolds) throws Exception {
        String point = kind + ":" + step + ":" + when;
        distribution.environment("JAVA_OPTS", Distribution.JAVA_OPTS + " -Dopenkcm.test.haltAt=" + point);
        int exit;
        try (Distribution.Running runtime = distribution.start()) {
            awaitBackend(runtime);
            for (String command : setUp) {
                if (command.startsWith("route:")) {
                    routeToSecond(runtime, command.substring("route:".length()));
                    continue;
                }
                String out = runtime.shell(command, COMMAND);
                assertTrue(!out.contains("error"), command + ": " + out);
            }
            // the operation: the seam kills the JVM (kill -9) part-way; the shell never answers
            runtime.process().getOutputStream().write((operation + "\n").getBytes());
            runtime.process().getOutputStream().flush();
            if (!runtime.process().waitFor(COMMAND.toMillis(), TimeUnit.MILLISECONDS)) {
                fail(point + ": the runtime was not killed\n" + runtime);
            }
            exit = runtime.process().exitValue();
        }
        assertEquals(137, exit, point + ": killed by the seam (128 + SIGKILL)");
        distribution.environment("JAVA_OPTS", Distribution.JAVA_OPTS);
        try (Distribution.Running runtime = distribution.start()) {
            awaitBackend(runtime);
            String report = awaitRecovered(runtime, point);
            List<String> problems = new ArrayList<>();
            int[] counts = counts(report);
            if (counts[0] != 0 || counts[1] != 0) {
                problems.add(report);
            }
            for (String id : acknowledged) {
                String shown = runtime.shell("keystore:show " + id, COMMAND);
                if (shown.contains("not found") || shown.contains("error")) {
                    problems.add(id + " lost: " + shown.trim());
                }
            }
            String where = "";
            if (secondHolds >= 0) {
                int[] second = heldAndKnown(report, SECOND);
                where = ", " + SECOND + " holds " + second[0] + " (known " + second[1] + ")";
                if (second[0] != secondHolds || second[1] != secondHolds) {
                    problems.add(SECOND + " holds " + second[0] + " and is known to hold " + second[1] + ", expected "
                            + secondHolds + " (the move " + (secondHolds > 0 ? "finished or undone wrongly" : "undone") + ")");
                }
            }
            ROWS.add("| " + kind + " | " + step + " | " + when + " | " + exit + " | orphans " + counts[0] + ", missing "
                    + counts[1] + where + " | " + (problems.isEmpty() ? "all readable" : problems) + " |");
            assertTrue(problems.isEmpty(), point + ": " + problems);
            runtime.terminate(Duration.ofSeconds(30));
        }
    }

    /** Waits until both OpenBao backends serve. */
    private static void awaitBackend(Distribution.Running runtime) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String out = "";
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:backends", COMMAND);
            String shown = out;
            if (BACKENDS.stream().allMatch(b -> Pattern.compile(b + "\\s+ACTIVE").matcher(shown).find())) {
                return;
            }
            Thread.sleep(250);
        }
        fail("the OpenBao backend did not become ACTIVE: " + out + "\n" + runtime);
    }

    /** Reconciles until nothing is in doubt any more (recovery runs on its own thread at activation). */
    private static String awaitRecovered(Distribution.Running runtime, String point) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String out = "";
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:reconcile", COMMAND);
            int[] counts = counts(out);
            if (counts[2] == 0) {
                return out;
            }
            Thread.sleep(250);
        }
        fail(point + ": recovery did not finish: " + out);
        return out;
    }

    /** The HELD and KNOWN columns of a backend's row of keystore:reconcile. */
    private static int[] heldAndKnown(String report, String backend) {
        Matcher m = Pattern.compile(backend + "\\s+(\\d+)\\s+(\\d+)\\s").matcher(report);
        if (!m.find()) {
            fail("no " + backend + " row in: " + report);
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    /** Orphans, missing and in-doubt counts of keystore:reconcile, summed over the rows of both backends. */
    private static int[] counts(String report) {
        int[] sum = new int[3];
        for (String backend : BACKENDS) {
            // BACKEND HELD KNOWN ORPHANS RECENT IN-DOUBT MISSING REMOVED FORGOTTEN FAILED UNKNOWN
            Matcher m = Pattern.compile("(?m)^" + backend + "\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)"
                    + "\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)").matcher(report);
            if (!m.find()) {
                fail("no " + backend + " row in: " + report);
            }
            // recent and unknown keys (held, in no index) count too: a kill must leave no key unaccounted for
            sum[0] += Integer.parseInt(m.group(3)) + Integer.parseInt(m.group(4)) + Integer.parseInt(m.group(10));
            sum[1] += Integer.parseInt(m.group(6));
            sum[2] += Integer.parseInt(m.group(5));
        }
        return sum;
    }
}
