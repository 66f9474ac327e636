package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/**
 * Two runtimes (each its own router and location index, sharing the KEK) in front of the same
 * three backends, with the shared placement kept in "memory": each finds the keys the other stored
 * or migrated with one read of the placement and one at the backend it names, never by asking
 * every backend; the call counts of each backend show it.
 */
class SharedPlacementTest {
    final FaultyKeystore memory = new FaultyKeystore(new MemoryKeystore());
    final FaultyKeystore archive = new FaultyKeystore(new MemoryKeystore());
    final FaultyKeystore vault = new FaultyKeystore(new MemoryKeystore());
    final TestKeks.Fixed kek = TestKeks.fixed("shared", 1);
    final Router routerA = router("memory");
    final Router routerB = router("memory");
    final DefaultKeystoreOperations a = DefaultKeystoreOperations.of(routerA, List.<KekProvider>of(kek));
    final DefaultKeystoreOperations b = DefaultKeystoreOperations.of(routerB, List.<KekProvider>of(kek));

    Router router(String placement) {
        Router router = new Router(new Router.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 3),
                LocationIndex.inMemory(), Runnable::run, RouterTest.QUIET);
        router.put(RouterTest.reg(1, "memory", 0, memory));
        router.put(RouterTest.reg(2, "archive", 0, archive));
        router.put(RouterTest.reg(3, "vault", 0, vault));
        router.putRoute("acme", Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "vault"), null);
        router.sharedPlacement(placement);
        return router;
    }

    List<KeyId> generate(DefaultKeystoreOperations ops, int n) {
        List<KeyId> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(ops.generate(MigratorTest.spec("acme-" + i, "acme")).id());
        }
        return ids;
    }

    record Retrieves(long memory, long archive, long vault) {
    }

    Retrieves retrieves() {
        return new Retrieves(memory.calls(Operation.RETRIEVE), archive.calls(Operation.RETRIEVE),
                vault.calls(Operation.RETRIEVE));
    }

    static Retrieves since(Retrieves before, Retrieves after) {
        return new Retrieves(after.memory() - before.memory(), after.archive() - before.archive(),
                after.vault() - before.vault());
    }

    @Test
    void aRuntimeFindsKeysAnotherStoredWithOneReadOfThePlacementNotAProbeOfEveryBackend() {
        List<KeyId> ids = generate(a, 5);
        for (KeyId id : ids) {
            assertEquals(null, routerB.index().get(id), "B has never seen the key");
            Retrieves before = retrieves();
            StoredKey found = routerB.keystore().retrieveKey(id);
            Retrieves calls = since(before, retrieves());
            assertEquals(vault.delegate().retrieveKey(id), found);
            // probing in order would have asked memory (for the key), then archive, then vault
            assertEquals(new Retrieves(1, 0, 1), calls, "one read of the placement in memory, one in vault");
            assertEquals("vault", routerB.index().get(id), "recorded in B's own index, a cache");
        }
        // and through B's operations: the material A generated
        for (KeyId id : ids) {
            try (var mb = b.get(id); var ma = a.get(id)) {
                assertTrue(java.util.Arrays.equals(ma.copyBytes(), mb.copyBytes()));
            }
        }
    }

    @Test
    void aMigrationRunOnOneRuntimeIsSeenByTheOtherWithoutRestartOrProbe() {
        List<KeyId> ids = generate(a, 5);
        for (KeyId id : ids) {
            routerB.keystore().retrieveKey(id); // B's index now says vault
            assertEquals("vault", routerB.index().get(id));
        }
        Route toArchive = Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "archive");
        routerA.putRoute("acme", toArchive, null);
        routerB.putRoute("acme", toArchive, null);
        MigrationReport report = new Migrator(routerA, a.envelope(), null).run(KeyFilter.all(), null);
        assertEquals(5, report.moved(), report.toString());
        for (KeyId id : ids) {
            assertEquals(0, MigratorTest.copies(vault, id), "A deleted the source copy");
            assertEquals(1, MigratorTest.copies(archive, id));
        }
        for (KeyId id : ids) {
            Retrieves before = retrieves();
            StoredKey found = routerB.keystore().retrieveKey(id);
            Retrieves calls = since(before, retrieves());
            assertEquals(archive.delegate().retrieveKey(id), found);
            // the stale entry (vault), the placement (memory), where it is now (archive): never memory for the key
            assertEquals(new Retrieves(1, 1, 1), calls);
            assertEquals("archive", routerB.index().get(id), "B's index follows the placement");
        }
    }

    @Test
    void anUpdateAndADeleteOnOneRuntimeReachAKeyTheOtherMigrated() {
        List<KeyId> ids = generate(a, 2);
        ids.forEach(id -> routerB.keystore().retrieveKey(id));
        Route toArchive = Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "archive");
        routerA.putRoute("acme", toArchive, null);
        new Migrator(routerA, a.envelope(), null).run(KeyFilter.all(), null);

        KeyId updated = ids.get(0);
        KeyMetadata m = archive.delegate().retrieveKey(updated).metadata();
        KeyMetadata changed = m.toBuilder().tags(Map.of("note", "from-b")).revision(m.revision() + 1)
                .updated(m.updated().plusMillis(1)).build();
        routerB.keystore().updateKeyMetadata(updated, changed);
        assertEquals("from-b", archive.delegate().retrieveKey(updated).metadata().tags().get("note"));

        KeyId deleted = ids.get(1);
        assertTrue(routerB.keystore().deleteKey(deleted), "deleted where it is now");
        assertEquals(0, MigratorTest.copies(archive, deleted));
        assertEquals(null, routerB.placement().lookup(deleted), "its placement is gone with it");
        assertThrows(KeyNotFoundException.class, () -> routerA.keystore().retrieveKey(deleted));
    }

    @Test
    void placementRecordsAreNeitherListedNorMigratedAndTheirNamesAreRefused() {
        List<KeyId> ids = generate(a, 3);
        assertEquals(3, memory.delegate().listKeys(KeyFilter.all()).keys().size(), "one placement record per key");
        assertEquals(ids, routerB.keystore().listKeys(KeyFilter.all()).keys().stream().map(KeyMetadata::id).toList());
        // a page of placement records alone does not end the listing early
        KeyPageWalk walk = new KeyPageWalk(routerB.keystore(), 1);
        assertEquals(ids, walk.ids());

        MigrationReport report = new Migrator(routerA, a.envelope(), null).run(KeyFilter.all(), null);
        assertEquals(3, report.examined(), "the placement records are no keys to migrate");
        assertEquals(0, report.moved());

        KeyId reserved = KeyId.of(SharedPlacement.PREFIX + "acme-0", 1);
        KeyMetadata md = RouterTest.key(reserved.name(), org.openkcm.keystore.api.KeyType.L2, Owner.tenant("acme"));
        long held = memory.delegate().listKeys(KeyFilter.all()).keys().size();
        assertThrows(InvalidInputException.class,
                () -> routerB.keystore().storeKey(reserved, SealedKey.of(new byte[] {1}), md));
        assertEquals(held, memory.delegate().listKeys(KeyFilter.all()).keys().size(), "nothing stored");
        assertEquals("vault", routerB.placement().lookup(ids.get(0)), "the placement is untouched");
    }

    @Test
    void reconciliationNeitherReportsNorRemovesPlacementRecords() {
        List<KeyId> ids = generate(a, 2);
        for (var report : b.reconcile(true)) {
            assertTrue(report.unknown().stream().noneMatch(SharedPlacement::reserved), report.toString());
            assertTrue(report.orphans().isEmpty(), report.toString());
            if (report.backend().equals("memory")) {
                assertEquals(0, report.held(), "the placement records are no keys held: " + report);
            }
        }
        for (KeyId id : ids) {
            assertEquals("vault", routerA.placement().lookup(id), "the placement is still there");
        }
    }

    @Test
    void aKeyStoredBeforePlacementWasSharedIsProbedOnceAndThenFoundByEveryRuntime() {
        Router legacy = router("");
        DefaultKeystoreOperations old = DefaultKeystoreOperations.of(legacy, List.<KekProvider>of(kek));
        KeyId id = old.generate(MigratorTest.spec("early", "acme")).id();
        assertEquals(0, memory.delegate().listKeys(KeyFilter.all()).keys().size(), "no placement recorded");

        assertEquals(vault.delegate().retrieveKey(id), routerB.keystore().retrieveKey(id)); // probes, records
        Retrieves before = retrieves();
        assertEquals(vault.delegate().retrieveKey(id), routerA.keystore().retrieveKey(id));
        assertEquals(new Retrieves(1, 0, 1), since(before, retrieves()), "A reads the placement B recorded");
    }

    @Test
    void withoutSharedPlacementAMissProbesEveryBackendAsBefore() {
        Router alone = router(" ");
        List<KeyId> ids = generate(a, 1);
        Retrieves before = retrieves();
        alone.keystore().retrieveKey(ids.get(0));
        assertEquals(new Retrieves(1, 1, 1), since(before, retrieves()));
        assertFalse(alone.sharedPlacementBackend() != null);
    }

    /** Lists every key through pages of {@code size}. */
    record KeyPageWalk(org.openkcm.keystore.api.Keystore keystore, int size) {
        List<KeyId> ids() {
            List<KeyId> out = new ArrayList<>();
            KeyFilter f = KeyFilter.builder().pageSize(size).build();
            String cursor = null;
            do {
                var page = keystore.listKeys(cursor == null ? f : f.withCursor(cursor));
                page.keys().forEach(m -> out.add(m.id()));
                cursor = page.nextCursor().orElse(null);
            } while (cursor != null);
            return out;
        }
    }
}
