package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

/**
 * Migration of a tenant's keys from the memory backend to another backend after a route change,
 * with a failure injected at each step in turn (reading the source, storing at the target before
 * and after it does the work, reading back at the target, deleting the source before and after it
 * does the work), while another thread stores and reads keys: afterwards every key is readable
 * exactly once and no orphan copy remains. The source is the in-memory backend, the target the
 * OpenBao backend on a real {@code bao server -dev}; each is wrapped in a FaultyKeystore registered
 * under the name the routes use. A failure of the location switch itself is covered by core's
 * MigratorTest.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class MigrationIT extends RoutingTestSupport {

    private static final List<String> STEPS = List.of("retrieve-source", "store-target-before", "store-target-after",
            "verify-target", "delete-source-before", "delete-source-after", "none");

    @Configuration
    public Option[] configuration() {
        return options(routingWithOpenBaoConfiguration());
    }

    @Test
    public void aFailureAtEachStepLeavesEveryKeyReadableExactlyOnce() throws Exception {
        memoryBackend("mem-raw", 0);
        openBaoBackend("vault-raw", "L2", "L3", "L4");
        memoryBackend("fast", 0);
        Keystore memRaw = awaitKeystore("mem-raw");
        Keystore vaultRaw = awaitKeystore("vault-raw");
        FaultyKeystore memory = new FaultyKeystore(memRaw);
        FaultyKeystore vault = new FaultyKeystore(vaultRaw);
        register("memory", 0, memory);
        register("vault", 0, vault);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l4-to-fast", Map.of("tiers", new String[] {"L4"}, "target", "fast"));
        awaitRoute(admin, "l4-to-fast", "fast");

        Map<String, List<KeyId>> keys = new java.util.HashMap<>();
        for (int s = 0; s < STEPS.size(); s++) {
            List<KeyId> ids = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                ids.add(ops.generate(spec("acme" + s + "-" + k, KeyType.L2, Owner.tenant("acme-" + s), null)).id());
            }
            keys.put(STEPS.get(s), ids);
        }
        KeyId stays = ops.generate(spec("zeta", KeyType.L2, Owner.tenant("zeta"), null)).id();
        for (List<KeyId> ids : keys.values()) {
            for (KeyId id : ids) {
                assertEquals(1, copies(memRaw, id));
            }
        }
        route("acme-to-vault", Map.of("ownerKind", "TENANT", "ownerIdPrefix", "acme-", "target", "vault"));
        awaitRoute(admin, "acme-to-vault", "vault");

        // load: another thread stores and reads keys throughout
        AtomicBoolean running = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> loadFailures = new ConcurrentLinkedQueue<>();
        List<KeyId> loadKeys = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger n = new AtomicInteger();
        Thread load = new Thread(() -> {
            while (running.get()) {
                try {
                    KeyId id = ops.generate(spec("load" + n.incrementAndGet(), KeyType.L4, Owner.tenant("load"), null)).id();
                    loadKeys.add(id);
                    try (KeyMaterial m = ops.get(id)) {
                        m.copyBytes();
                    }
                } catch (RuntimeException e) {
                    loadFailures.add(e.toString());
                }
            }
        }, "migration-load");
        load.start();

        for (int s = 0; s < STEPS.size(); s++) {
            String step = STEPS.get(s);
            inject(step, memory, vault);
            MigrationReport report = admin.migrate(KeyFilter.builder().owner(Owner.tenant("acme-" + s)).build(), null);
            memory.reset();
            vault.reset();
            boolean oneFails = !step.equals("none") && !step.equals("delete-source-after");
            assertEquals(step + ": " + report, 3, report.examined());
            assertEquals(step + ": " + report, oneFails ? 2 : 3, report.moved());
            assertEquals(step + ": " + report, oneFails ? 1 : 0, report.failed().size());
            for (KeyId id : keys.get(step)) {
                assertEquals(step + ": " + id + " has exactly one copy, no orphan", 1,
                        copies(memRaw, id) + copies(vaultRaw, id));
                try (KeyMaterial m = ops.get(id)) {
                    assertEquals(32, m.copyBytes().length);
                }
            }
        }
        running.set(false);
        load.join(10_000);

        // a second run moves what the failures left; the key of another tenant stays
        MigrationReport rest = admin.migrate(KeyFilter.builder().ownerKind(org.openkcm.keystore.api.OwnerKind.TENANT)
                .build(), null);
        assertEquals(rest.toString(), 0, rest.failed().size());
        for (List<KeyId> ids : keys.values()) {
            for (KeyId id : ids) {
                assertEquals(0, copies(memRaw, id));
                assertEquals(1, copies(vaultRaw, id));
            }
        }
        assertEquals(1, copies(memRaw, stays));
        assertEquals("load: " + loadFailures, List.of(), new ArrayList<>(loadFailures));
        assertTrue(loadKeys.size() > 0);
        for (KeyId id : new ArrayList<>(loadKeys)) {
            ops.metadata(id);
        }
    }

    private static void inject(String step, FaultyKeystore memory, FaultyKeystore vault) {
        switch (step) {
            case "retrieve-source" -> memory.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("injected"));
            case "store-target-before" -> vault.failBefore(Operation.STORE, 1, () -> new UnavailableException("injected"));
            case "store-target-after" -> vault.failAfter(Operation.STORE, 1, () -> new UnavailableException("injected"));
            case "verify-target" -> vault.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("injected"));
            case "delete-source-before" -> memory.failBefore(Operation.DELETE, 1, () -> new UnavailableException("injected"));
            case "delete-source-after" -> memory.failAfter(Operation.DELETE, 1, () -> new UnavailableException("injected"));
            default -> { }
        }
    }

    private static int copies(Keystore raw, KeyId id) {
        try {
            raw.retrieveKey(id);
            return 1;
        } catch (KeyNotFoundException e) {
            return 0;
        }
    }
}
