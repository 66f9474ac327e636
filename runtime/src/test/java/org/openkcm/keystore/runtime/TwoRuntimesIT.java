package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * Two runtimes (two homes, two processes, one KEK) in front of one real OpenBao dev server, under the
 * same path prefix: what one stores, the other reads; reconciliation on either deletes nothing the
 * other stored; and a status or expiry change made on one is honoured by the other within the
 * revocation bound of its cache (default 1 s). The times measured (from the moment the changing
 * runtime acknowledged the change, or the expiry instant, to the first refusal the other runtime
 * printed; the shell's round trip included) go to target/revocation-bound.txt: they are reported,
 * not asserted, and a refusal that never comes fails after a timeout far below the record cache's
 * five-minute time to live.
 */
class TwoRuntimesIT {
    static final Duration COMMAND = Duration.ofSeconds(60);
    /** How long the second runtime is watched for a refusal: far below the 300 s record time to live. */
    static final Duration PATIENCE = Duration.ofSeconds(30);
    static final List<String> MEASURED = new ArrayList<>();
    static final String SECOND = "openbao-b";
    static Distribution first;
    static Distribution second;
    static Distribution.Running a;
    static Distribution.Running b;

    @BeforeAll
    static void setUp() throws Exception {
        OpenBaoDevServer bao = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        String prefix = "shared-" + System.nanoTime();
        first = configured("two-runtimes-a", bao, prefix);
        second = configured("two-runtimes-b", bao, prefix);
        a = first.start();
        awaitOpenBao(a);
        // one KEK for both, as two replicas of one deployment share it: B gets A's ring before its first start
        // (the known-KEK record B writes itself: the same ring gives the same check values)
        Path ring = first.path("data/kek/local.kek");
        awaitFile(ring);
        Files.createDirectories(second.path("data/kek"));
        Files.copy(ring, second.path("data/kek/local.kek"), StandardCopyOption.COPY_ATTRIBUTES);
        b = second.start();
        awaitOpenBao(b);
        awaitActive(a, SECOND);
        awaitActive(b, SECOND);
    }

    /** A copy whose every tier goes to the shared OpenBao, judging unknown keys at once (no grace period). */
    static Distribution configured(String name, OpenBaoDevServer bao, String prefix) throws IOException {
        Distribution d = Distribution.copy(name);
        Files.writeString(d.path("config/org.openkcm.keystore.openbao-shared.cfg"),
                "address = \"" + bao.address + "\"\n"
                        + "token.source = \"" + d.secretFile("bao-token", bao.tokenFile) + "\"\n"
                        + "path.prefix = \"" + prefix + "\"\n"
                        + "keystore.name = \"openbao\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n");
        // a second OpenBao backend (another path prefix on the same server) that keys can be migrated to
        Files.writeString(d.path("config/org.openkcm.keystore.openbao-second.cfg"),
                "address = \"" + bao.address + "\"\n"
                        + "token.source = \"" + d.secretFile("bao-token-b", bao.tokenFile) + "\"\n"
                        + "path.prefix = \"" + prefix + "-b\"\n"
                        + "keystore.name = \"" + SECOND + "\"\n"
                        + "keystore.tiers = [ \"L2\", \"L3\", \"L4\" ]\n");
        // both runtimes keep each key's placement in the shared OpenBao backend, their default target, as
        // well as in their own index
        Files.writeString(d.path("config/org.openkcm.keystore.router.cfg"),
                "default.target = \"openbao\"\nplacement.backend = \"default-target\"\n");
        Files.delete(d.path("config/org.openkcm.keystore.route-l4-to-memory.cfg"));
        // without a grace period a key the other runtime just stored is judged at once: the case that used to be deleted
        Files.writeString(d.path("config/org.openkcm.keystore.operations.cfg"), "reconcile.grace.seconds = L\"0\"\n");
        return d;
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (Distribution.Running r : new Distribution.Running[] {a, b}) {
            if (r != null) {
                r.close();
            }
        }
        StringBuilder out = new StringBuilder("revocation bound, measured with two runtime processes on one OpenBao dev "
                + "server (cache default: records.revalidate.millis = 1000)\n");
        MEASURED.forEach(m -> out.append(m).append('\n'));
        Files.writeString(Path.of("target", "revocation-bound.txt"), out.toString());
        for (Distribution d : new Distribution[] {first, second}) {
            if (d != null) {
                Distribution.delete(d.path(""));
            }
        }
    }

    @Test
    void reconcilingOnEitherRuntimeDeletesNothingTheOtherStored() throws Exception {
        List<String> fromA = List.of("sa1:1", "sa2:1");
        List<String> fromB = List.of("sb1:1");
        for (String id : fromA) {
            ok(a, "keystore:generate --type L3 --owner tenant/acme " + id.substring(0, id.indexOf(':')));
        }
        for (String id : fromB) {
            ok(b, "keystore:generate --type L3 --owner tenant/acme " + id.substring(0, id.indexOf(':')));
        }
        String onB = ok(b, "keystore:reconcile");
        for (String id : fromA) {
            assertTrue(onB.contains("unknown openbao " + id + "\n"), "A's key is unknown to B, not an orphan:\n" + onB);
        }
        assertFalse(onB.contains("orphan  "), onB);
        // naming one of them as if it were an orphan removes nothing: there is no such finding
        String named = b.shell("keystore:reconcile --remove orphan/openbao/sa1:1/0123456789abcdef", COMMAND);
        assertTrue(named.contains("failed  openbao sa1:1: not removed"), named);
        String onA = ok(a, "keystore:reconcile");
        assertTrue(onA.contains("unknown openbao sb1:1\n"), onA);

        List<String> all = new ArrayList<>(fromA);
        all.addAll(fromB);
        for (Distribution.Running r : List.of(a, b)) {
            for (String id : all) {
                String shown = ok(r, "keystore:reveal " + id);
                assertTrue(Pattern.compile("(?m)(^|\\s)[0-9a-f]{64}$").matcher(shown).find(), id + ": " + shown);
            }
        }
    }

    @Test
    void aStatusChangeOnOneRuntimeIsHonouredByTheOtherWithinTheBound() throws Exception {
        for (int i = 1; i <= 5; i++) {
            String name = "rv" + i;
            ok(a, "keystore:generate --type L3 --owner tenant/acme " + name);
            ok(b, "keystore:reveal " + name + ":1"); // B has the record and the opened key cached
            ok(b, "keystore:reveal " + name + ":1");
            ok(a, "keystore:status " + name + ":1 RETIRED");
            long acknowledged = System.nanoTime();
            long refused = awaitRefusal(b, name + ":1", "RETIRED");
            MEASURED.add(String.format("status RETIRED on A, refused on B after %d ms (key %s:1)",
                    TimeUnit.NANOSECONDS.toMillis(refused - acknowledged), name));
        }
    }

    @Test
    void anExpiryChangeOnOneRuntimeIsHonouredByTheOtherWithinTheBound() throws Exception {
        for (int i = 1; i <= 3; i++) {
            String name = "ex" + i;
            ok(a, "keystore:generate --type L3 --owner tenant/acme " + name);
            ok(b, "keystore:reveal " + name + ":1");
            Instant expiry = Instant.now().plusSeconds(2);
            long expiresAt = System.nanoTime() + Duration.between(Instant.now(), expiry).toNanos();
            ok(a, "keystore:expiry " + name + ":1 " + expiry);
            long refused = awaitRefusal(b, name + ":1", "expired");
            MEASURED.add(String.format("expiry set on A to +2 s, refused on B %d ms after the expiry instant (key %s:1)",
                    TimeUnit.NANOSECONDS.toMillis(refused - expiresAt), name));
        }
    }

    @Test
    void keysOneRuntimeMigratedBetweenTwoOpenBaoBackendsAreAllReadByTheOther() throws Exception {
        List<String> names = List.of("pm1", "pm2", "pm3", "pm4");
        java.util.Map<String, String> material = new java.util.HashMap<>();
        for (String name : names) {
            ok(a, "keystore:generate --type L3 --owner tenant/movers " + name);
        }
        for (String name : names.subList(0, 3)) {
            material.put(name, hex(ok(b, "keystore:reveal " + name + ":1"))); // B has read (and indexed) three of them
        }
        for (Distribution d : new Distribution[] {first, second}) {
            Files.writeString(d.path("config/org.openkcm.keystore.route-movers.cfg"),
                    "ownerKind = \"TENANT\"\nownerId = \"movers\"\ntarget = \"" + SECOND + "\"\n");
        }
        awaitRoute(a, "movers");
        awaitRoute(b, "movers");
        String report = ok(a, "keystore:migrate --owner tenant/movers");
        assertTrue(report.contains("4 examined, 4 moved, 0 in place, 0 failed"), report);
        // past B's revalidation bound, so that B reads each record again instead of serving its cache
        Thread.sleep(1500);
        for (String name : names) {
            String shown = ok(b, "keystore:reveal " + name + ":1");
            if (material.containsKey(name)) {
                assertEquals(material.get(name), hex(shown), name + ": the same key, read where A moved it");
            }
            assertEquals(hex(ok(a, "keystore:reveal " + name + ":1")), hex(shown), name);
        }
        // A deleted the source copies: B's index names the second backend for each, and nothing is left in the first
        String onB = ok(b, "keystore:reconcile");
        for (String name : names) {
            assertFalse(onB.contains(" openbao " + name + ":1"), name + " still held by the first backend:\n" + onB);
        }
    }

    static String hex(String shown) {
        java.util.regex.Matcher m = Pattern.compile("(?m)(?:^|\\s)([0-9a-f]{64})$").matcher(shown);
        assertTrue(m.find(), "no key material shown: " + shown);
        return m.group(1);
    }

    /** Waits until the route is in force on the runtime. */
    static void awaitRoute(Distribution.Running runtime, String route) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Pattern inForce = Pattern.compile(route + "\\s.*" + SECOND + "\\s+in force");
        String out = "";
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:routes", COMMAND);
            if (inForce.matcher(out).find()) {
                return;
            }
            Thread.sleep(250);
        }
        fail("the route " + route + " -> " + SECOND + " is not in force: " + out + "\n" + runtime);
    }

    static void awaitActive(Distribution.Running runtime, String backend) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String out = "";
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:backends", COMMAND);
            if (Pattern.compile(Pattern.quote(backend) + "\\s+ACTIVE").matcher(out).find()) {
                return;
            }
            Thread.sleep(250);
        }
        fail("backend " + backend + " did not become ACTIVE: " + out + "\n" + runtime);
    }

    /** Reveals the key on the runtime until it is refused with the reason; returns when (nanoTime). */
    static long awaitRefusal(Distribution.Running runtime, String id, String reason) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:reveal " + id, COMMAND);
            if (out.contains("refused by policy") && out.contains(reason)) {
                return System.nanoTime();
            }
            assertTrue(Pattern.compile("(?m)(^|\\s)[0-9a-f]{64}$").matcher(out).find(), "neither served nor refused: " + out);
        }
        fail(id + " is still served by the other runtime " + PATIENCE + " after the change: " + out);
        return -1;
    }

    static String ok(Distribution.Running runtime, String command) throws Exception {
        String out = runtime.shell(command, COMMAND);
        assertFalse(out.contains("error"), command + ": " + out + "\n" + runtime);
        return out;
    }

    static void awaitOpenBao(Distribution.Running runtime) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String out = "";
        while (System.nanoTime() < deadline) {
            out = runtime.shell("keystore:backends", COMMAND);
            if (Pattern.compile("openbao\\s+ACTIVE").matcher(out).find()) {
                return;
            }
            Thread.sleep(250);
        }
        fail("the OpenBao backend did not become ACTIVE: " + out + "\n" + runtime);
    }

    static void awaitFile(Path file) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(file) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        if (!Files.exists(file)) {
            fail(file + " was not created by the first runtime");
        }
    }
}
