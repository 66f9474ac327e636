package org.openkcm.keystore.core.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.core.migration.Migrator;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.admin.Administration;
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
    final RoutingTable routerA = router("memory");
    final RoutingTable routerB = router("memory");
    final DefaultKeystoreOperations a = DefaultKeystoreOperations.of(routerA, List.<KekProvider>of(kek));
    final DefaultKeystoreOperations b = DefaultKeystoreOperations.of(routerB, List.<KekProvider>of(kek));

    RoutingTable router(String placement) {
        RoutingTable router = new RoutingTable(new RoutingTable.Settings("memory", Duration.ZERO, Duration.ofMinutes(1), 3),
                LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
        router.put(RoutingTableTest.reg(1, "memory", 0, memory));
        router.put(RoutingTableTest.reg(2, "archive", 0, archive));
        router.put(RoutingTableTest.reg(3, "vault", 0, vault));
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
        KeyMetadata md = RoutingTableTest.key(reserved.name(), org.openkcm.keystore.api.KeyType.L2, Owner.tenant("acme"));
        long held = memory.delegate().listKeys(KeyFilter.all()).keys().size();
        assertThrows(InvalidInputException.class,
                () -> routerB.keystore().storeKey(reserved, SealedKey.of(new byte[] {1}), md));
        assertEquals(held, memory.delegate().listKeys(KeyFilter.all()).keys().size(), "nothing stored");
        assertEquals("vault", routerB.placement().lookup(ids.get(0)), "the placement is untouched");
    }

    @Test
    void reconciliationNeitherReportsNorRemovesPlacementRecords() {
        List<KeyId> ids = generate(a, 2);
        for (var report : Administration.of(b).reconcile(true)) {
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
        RoutingTable legacy = router(RoutingTable.PLACEMENT_OFF);
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
        RoutingTable alone = router(RoutingTable.PLACEMENT_OFF);
        List<KeyId> ids = generate(a, 1);
        Retrieves before = retrieves();
        alone.keystore().retrieveKey(ids.get(0));
        assertEquals(new Retrieves(1, 1, 1), since(before, retrieves()));
        assertFalse(alone.sharedPlacementBackend() != null);
    }

    @Test
    void twoRuntimesMigratingOneKeyAtOnceToTwoBackendsCannotBothWinAndTheLoserRemovesItsCopy() throws Exception {
        KeyId id = generate(a, 1).get(0);
        byte[] material;
        try (var m = a.get(id)) {
            material = m.copyBytes();
        }
        routerB.keystore().retrieveKey(id); // B knows the key in vault too
        routerA.putRoute("acme", Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "archive"), null);
        routerB.putRoute("acme", Route.of("acme", new String[0], "TENANT", "acme", null, null, 0, "memory"), null);
        // each run copies and verifies, then waits at its switch until the other has copied too
        CyclicBarrier bothCopied = new CyclicBarrier(2);
        long deletesBefore = vault.calls(Operation.DELETE);
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            Future<MigrationReport> onA = other.submit(() -> new Migrator(routerA, a.envelope(), null,
                    afterBoth(bothCopied, routerA)).run(KeyFilter.all(), null));
            MigrationReport onB = new Migrator(routerB, b.envelope(), null, afterBoth(bothCopied, routerB))
                    .run(KeyFilter.all(), null);
            MigrationReport reportA = onA.get(30, TimeUnit.SECONDS);

            String placed = routerA.placement().lookup(id);
            assertTrue(placed.equals("archive") || placed.equals("memory"), placed);
            MigrationReport winner = placed.equals("archive") ? reportA : onB;
            MigrationReport loser = placed.equals("archive") ? onB : reportA;
            assertEquals(1, winner.moved(), winner.toString());
            assertEquals(0, loser.moved(), loser.toString());
            assertTrue(loser.failed().get(id).startsWith("conflict: not moved: another runtime moved the key to "
                    + placed), loser.toString());
            FaultyKeystore won = placed.equals("archive") ? archive : memory;
            FaultyKeystore lost = placed.equals("archive") ? memory : archive;
            assertEquals(1, MigratorTest.copies(won, id), "the winner's copy is the key");
            assertEquals(0, MigratorTest.copies(lost, id), "the loser removed its own copy");
            assertEquals(0, MigratorTest.copies(vault, id), "the source is gone");
            assertEquals(1, vault.calls(Operation.DELETE) - deletesBefore, "the source was deleted once, by the winner");
            assertEquals(placed, routerA.index().get(id));
            assertEquals(placed, routerB.index().get(id), "both indexes follow the placement that won");
            for (DefaultKeystoreOperations ops : List.of(a, b)) {
                try (var m = ops.get(id)) {
                    assertTrue(java.util.Arrays.equals(material, m.copyBytes()), "the same material on both runtimes");
                }
            }
        } finally {
            other.shutdownNow();
        }
    }

    /** The router's switch, once both migrations have reached their switch. */
    static Migrator.LocationSwitch afterBoth(CyclicBarrier barrier, RoutingTable router) {
        return (id, tier, from, to) -> {
            try {
                barrier.await(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("the other migration did not reach its switch", e);
            }
            return router.switchPlacement(id, tier, from, to);
        };
    }

    @Test
    void aSwitchOnlyTakesPlaceIfThePlacementStillNamesTheSource() {
        KeyId id = generate(a, 1).get(0);
        SharedPlacement placement = routerA.placement();
        assertEquals("archive", placement.switchTo(id, KeyType.L2, "vault", "archive"));
        assertEquals("archive", placement.switchTo(id, KeyType.L2, "vault", "memory"), "names archive now: refused");
        assertEquals("archive", placement.lookup(id));
        assertEquals("archive", placement.switchTo(id, KeyType.L2, "vault", "archive"), "a repeat is no conflict");
        assertEquals("vault", placement.switchTo(id, KeyType.L2, "archive", "vault"), "switched back");
        assertEquals("vault", routerB.placement().lookup(id));
    }

    @Test
    void aKeyInNoBackendIsLookedForInEveryBackendOncePerAbsenceWindow() {
        AtomicLong nanos = new AtomicLong();
        routerA.absences(new RecentAbsences(Duration.ofSeconds(1), nanos::get));
        KeyId absent = KeyId.of("later", 1);
        Retrieves before = retrieves();
        for (int i = 0; i < 5; i++) {
            assertThrows(KeyNotFoundException.class, () -> routerA.keystore().retrieveKey(absent));
        }
        // five reads of its placement in memory; one probe of every backend (memory, archive, vault)
        assertEquals(new Retrieves(5 + 1, 1, 1), since(before, retrieves()));

        // stored meanwhile by a runtime that keeps no placement: not seen within the window, seen after it
        RoutingTable legacy = router(RoutingTable.PLACEMENT_OFF);
        KeyId stored = DefaultKeystoreOperations.of(legacy, List.<KekProvider>of(kek))
                .generate(MigratorTest.spec("later", "acme")).id();
        assertEquals(absent, stored);
        nanos.addAndGet(Duration.ofMillis(500).toNanos());
        assertThrows(KeyNotFoundException.class, () -> routerA.keystore().retrieveKey(absent));
        nanos.addAndGet(Duration.ofMillis(501).toNanos());
        assertEquals(vault.delegate().retrieveKey(absent), routerA.keystore().retrieveKey(absent));

        // a store through this runtime is seen at once
        KeyId other = KeyId.of("mine", 1);
        assertThrows(KeyNotFoundException.class, () -> routerA.keystore().retrieveKey(other));
        KeyMetadata md = RoutingTableTest.key("mine", KeyType.L2, Owner.tenant("acme"));
        routerA.keystore().storeKey(other, SealedKey.of(new byte[] {7}), md);
        assertEquals(md, routerA.keystore().retrieveKey(other).metadata());
        assertEquals(md, routerA.keystore().listKeys(KeyFilter.all()).keys().stream()
                .filter(m -> m.id().equals(other)).findFirst().orElseThrow());
    }

    @Test
    void absencesAreForgottenByAStoreOrASwitchThroughThisRuntime() {
        RecentAbsences absences = new RecentAbsences(Duration.ofHours(1), () -> 0L);
        routerA.absences(absences);
        KeyId id = KeyId.of("soon", 1);
        assertThrows(KeyNotFoundException.class, () -> routerA.keystore().retrieveKey(id));
        assertTrue(absences.contains(id));
        routerA.place(id, "vault", KeyType.L2);
        assertFalse(absences.contains(id), "placed: no longer absent");
        absences.remember(id);
        routerA.switchPlacement(id, KeyType.L2, "vault", "archive");
        assertFalse(absences.contains(id), "switched: no longer absent");
    }

    @Test
    void defaultTargetKeepsItWhilePersistentAndEmptyOrNoneTurnsItOff() {
        RoutingTable auto = new RoutingTable(new RoutingTable.Settings("file", Duration.ZERO, Duration.ofMinutes(1), 3),
                LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
        auto.sharedPlacement(RoutingTable.PLACEMENT_DEFAULT_TARGET);
        assertEquals(null, auto.sharedPlacementBackend(), "the default target is not registered yet");
        assertTrue(auto.placementDescription().contains("once it is registered"), auto.placementDescription());
        auto.put(Registration.of(1, Map.of("keystore.name", "file", "keystore.persistent", "true"), "bsn", "1",
                new MemoryKeystore()));
        assertEquals("file", auto.sharedPlacementBackend(), "a persistent default target keeps it");
        assertTrue(auto.placementDescription().startsWith("in file (the default target"), auto.placementDescription());
        auto.remove(1);
        assertEquals("file", auto.sharedPlacementBackend(), "a backend swapping out does not change where it is kept");

        auto.put(Registration.of(2, Map.of("keystore.name", "file", "keystore.persistent", "false"), "bsn", "1",
                new MemoryKeystore()));
        assertEquals(null, auto.sharedPlacementBackend(), "a volatile default target keeps none");
        assertTrue(auto.placementDescription().contains("volatile"), auto.placementDescription());

        auto.put(Registration.of(3, Map.of("keystore.name", "vault"), "bsn", "1", new MemoryKeystore()));
        auto.settings(new RoutingTable.Settings("vault", Duration.ZERO, Duration.ofMinutes(1), 3));
        assertEquals("vault", auto.sharedPlacementBackend(), "no keystore.persistent: persistent, as for routing");

        auto.sharedPlacement(RoutingTable.PLACEMENT_OFF);
        assertEquals(null, auto.sharedPlacementBackend(), "none: off");
        assertTrue(auto.placementDescription().startsWith("off"), auto.placementDescription());
        auto.sharedPlacement(" file ");
        assertEquals("file", auto.sharedPlacementBackend(), "named: kept there, volatile or not");
        auto.sharedPlacement("");
        assertEquals(null, auto.sharedPlacementBackend(), "empty (the component's default): off");
    }

    @Test
    void aKeyOfATierThePlacementBackendDoesNotTakeHasNoPlacementRecordAndIsStillStoredAndFound() {
        // the shipped runtime: default target "file" (persistent, L2 and L3), L4 routed to "memory" (volatile)
        FaultyKeystore file = new FaultyKeystore(new MemoryKeystore());
        FaultyKeystore volatileMemory = new FaultyKeystore(new MemoryKeystore());
        List<RoutingTable> runtimes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            RoutingTable r = new RoutingTable(new RoutingTable.Settings("file", Duration.ZERO, Duration.ofMinutes(1), 3),
                    LocationIndex.inMemory(), Runnable::run, RoutingTableTest.QUIET);
            r.put(Registration.of(1, Map.of("keystore.name", "file", "keystore.tiers", "L2,L3",
                    "keystore.persistent", "true"), "bsn", "1", file));
            r.put(Registration.of(2, Map.of("keystore.name", "memory", "keystore.tiers", "L4",
                    "keystore.persistent", "false"), "bsn", "1", volatileMemory));
            r.putRoute("l4", Route.of("l4", new String[] {"L4"}, null, null, null, null, 0, "memory"), null);
            r.sharedPlacement(RoutingTable.PLACEMENT_DEFAULT_TARGET);
            assertEquals("file", r.sharedPlacementBackend());
            runtimes.add(r);
        }
        KeyId l2 = KeyId.of("kek", 1);
        KeyMetadata l2md = RoutingTableTest.key("kek", KeyType.L2, Owner.tenant("acme"));
        runtimes.get(0).keystore().storeKey(l2, SealedKey.of(new byte[] {2}), l2md);
        KeyId l4 = KeyId.of("data", 1);
        KeyMetadata l4md = RoutingTableTest.key("data", KeyType.L4, Owner.tenant("acme"));
        runtimes.get(0).keystore().storeKey(l4, SealedKey.of(new byte[] {4}), l4md); // no "cannot be recorded"

        StoredKey record = file.delegate().retrieveKey(SharedPlacement.recordId(l2));
        assertEquals(KeyType.L2, record.metadata().type(), "the record has the key's tier");
        assertThrows(KeyNotFoundException.class, () -> file.delegate().retrieveKey(SharedPlacement.recordId(l4)),
                "no record for a tier the placement backend does not take");
        assertEquals(2, file.delegate().listKeys(KeyFilter.all()).keys().size(), "the L2 key and its record alone");
        assertEquals(1, volatileMemory.delegate().listKeys(KeyFilter.all()).keys().size(), "the L4 key alone");

        // the other runtime finds both: the L2 key through its record, the L4 key by asking every backend
        long fileReads = file.calls(Operation.RETRIEVE);
        assertEquals(l2md, runtimes.get(1).keystore().retrieveKey(l2).metadata());
        assertEquals(2, file.calls(Operation.RETRIEVE) - fileReads, "the record, then the key");
        assertEquals(l4md, runtimes.get(1).keystore().retrieveKey(l4).metadata());
        assertEquals("memory", runtimes.get(1).index().get(l4));
        // and a migration of the L4 key keeps it without a record
        assertEquals("memory", runtimes.get(1).switchPlacement(l4, KeyType.L4, "memory", "memory"));
        assertThrows(KeyNotFoundException.class, () -> file.delegate().retrieveKey(SharedPlacement.recordId(l4)));
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
