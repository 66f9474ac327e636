package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.openkcm.keystore.core.migration.Migrator;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/** Migration with a failure injected at each step: afterwards every key is readable exactly once, no orphan. */
class MigratorTest {

    enum Step {
        NONE, SOURCE_RETRIEVE_BEFORE, TARGET_STORE_BEFORE, TARGET_STORE_AFTER, TARGET_RETRIEVE_BEFORE, SWITCH,
        SOURCE_DELETE_BEFORE, SOURCE_DELETE_AFTER
    }

    @ParameterizedTest
    @EnumSource(Step.class)
    void aFailureAtAnyStepLeavesExactlyOneReadableCopy(Step step) {
        FaultyKeystore memory = new FaultyKeystore(new MemoryKeystore());
        FaultyKeystore vault = new FaultyKeystore(new MemoryKeystore());
        RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 3),
                LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
        router.put(RoutingTableTest.reg(1, "memory", 0, memory));
        router.put(RoutingTableTest.reg(2, "vault", 0, vault));
        TestKeks.Fixed kek = TestKeks.fixed("test", 1);
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(router, List.<KekProvider>of(kek));
        List<KeyId> acme = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            acme.add(ops.generate(spec("acme-" + i, "acme")).id());
        }
        KeyId other = ops.generate(spec("other", "zeta")).id();
        router.putRoute("acme", Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "vault"), null);

        int[] switches = {0};
        Migrator.LocationSwitch locations = (id, tier, from, to) -> {
            if (step == Step.SWITCH && switches[0]++ == 0) {
                throw new UnavailableException("injected: the index cannot be written");
            }
            router.index().put(id, to);
            return to;
        };
        switch (step) {
            case SOURCE_RETRIEVE_BEFORE -> memory.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("injected"));
            case TARGET_STORE_BEFORE -> vault.failBefore(Operation.STORE, 1, () -> new UnavailableException("injected"));
            case TARGET_STORE_AFTER -> vault.failAfter(Operation.STORE, 1, () -> new UnavailableException("injected"));
            case TARGET_RETRIEVE_BEFORE -> vault.failBefore(Operation.RETRIEVE, 1, () -> new UnavailableException("injected"));
            case SOURCE_DELETE_BEFORE -> memory.failBefore(Operation.DELETE, 1, () -> new UnavailableException("injected"));
            case SOURCE_DELETE_AFTER -> memory.failAfter(Operation.DELETE, 1, () -> new UnavailableException("injected"));
            default -> { }
        }
        List<MigrationReport> progress = new ArrayList<>();
        MigrationReport report = new Migrator(router, ops.envelope(), null, locations)
                .run(KeyFilter.builder().owner(Owner.tenant("acme")).build(), progress::add);
        memory.reset();
        vault.reset();

        boolean oneFails = step != Step.NONE && step != Step.SOURCE_DELETE_AFTER;
        assertEquals(5, report.examined());
        assertEquals(oneFails ? 4 : 5, report.moved(), report.toString());
        assertEquals(oneFails ? 1 : 0, report.failed().size(), report.toString());
        assertTrue(report.finished() && progress.get(progress.size() - 1).equals(report));
        for (KeyId id : acme) {
            int copies = copies(memory, id) + copies(vault, id);
            assertEquals(1, copies, id + ": exactly one copy, no orphan (" + step + ")");
            String location = router.index().get(id);
            assertEquals(1, copies(location.equals("vault") ? vault : memory, id), "the index points at the copy");
            try (KeyMaterial m = ops.get(id)) {
                assertEquals(32, m.copyBytes().length);
            }
        }
        assertEquals("memory", router.index().get(other), "a key the route does not take stays");
        assertEquals(1, copies(memory, other));
        // a second run finishes what the failure left
        MigrationReport again = new Migrator(router, ops.envelope(), null)
                .run(KeyFilter.builder().owner(Owner.tenant("acme")).build(), null);
        assertEquals(0, again.failed().size());
        for (KeyId id : acme) {
            assertEquals(1, copies(vault, id));
            assertEquals(0, copies(memory, id));
        }
    }

    static int copies(FaultyKeystore ks, KeyId id) {
        try {
            ks.delegate().retrieveKey(id);
            return 1;
        } catch (KeyNotFoundException e) {
            return 0;
        }
    }

    static KeySpec spec(String name, String tenant) {
        return KeySpec.builder().name(name).type(KeyType.L2).algorithm("AES").keySize(256).owner(Owner.tenant(tenant))
                .build();
    }

}
