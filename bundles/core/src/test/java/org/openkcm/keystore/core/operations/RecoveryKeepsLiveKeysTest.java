package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.JournalSettings;
import org.openkcm.keystore.core.saga.KeystoreSagas;
import org.openkcm.keystore.core.saga.RecoveryReport;
import org.openkcm.keystore.core.saga.SagaResult;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.testing.CapturingLogger;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;

/**
 * Recovery never deletes a key it did not create: a delete of all versions that failed half-way
 * leaves its intent open; a new version 1 of the name is stored and acknowledged meanwhile (by this
 * runtime, which finishes the delete first, or by a writer the journal does not know, such as
 * another runtime on the same backend); recovery then runs and keeps the new key. An intent
 * journaled by an earlier version, which named versions by number only, deletes nothing.
 */
class RecoveryKeepsLiveKeysTest {
    @TempDir
    Path dir;

    final TestKeks.Fixed kek = TestKeks.fixed("test", 1);
    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    /** Fails every delete after the first one, once armed: a delete of all versions that stops half-way. */
    final HalfWay halfWay = new HalfWay(backend);
    final Fixture.MutableClock clock = new Fixture.MutableClock();
    final CapturingLogger log = new CapturingLogger();

    DefaultKeystoreOperations ops(Keystore keystore, IntentJournal journal) {
        return DefaultKeystoreOperations.of(keystore, List.<KekProvider>of(kek)).clock(clock).logger(log.logger())
                .runner(new SagaRunner(journal, null).retries(3, Duration.ZERO));
    }

    IntentJournal journal(String name) {
        return IntentJournal.open(JournalSettings.of(dir.resolve(name)), null);
    }

    /** d:1, d:2, d:3 and other:1; then the delete of all versions of d, which deletes d:1 and stops. */
    DefaultKeystoreOperations deleteFailsHalfWay(IntentJournal journal) {
        DefaultKeystoreOperations ops = ops(halfWay, journal);
        ops.generate(Fixture.spec("d").build());
        ops.rotate("d");
        ops.rotate("d");
        ops.generate(Fixture.spec("other").build());
        halfWay.arm();
        assertThrows(UnavailableException.class, () -> ops.deleteAllVersions("d"));
        assertEquals(List.of(KeyId.of("d", 2), KeyId.of("d", 3), KeyId.of("other", 1)), held());
        assertEquals(1, journal.unfinished().size(), "the delete is left open for recovery");
        return ops;
    }

    @Test
    void aNewVersion1StoredByAnotherWriterWhileTheDeleteIsOpenIsKeptByRecovery() {
        IntentJournal journal = journal("other-writer.log");
        DefaultKeystoreOperations ops = deleteFailsHalfWay(journal);
        backend.reset();
        halfWay.disarm();
        // another runtime on the same backend: its journal does not know the open delete; same clock,
        // so the new d:1 has the very created time the old one had: only the record's digest tells them apart
        DefaultKeystoreOperations other = ops(backend, IntentJournal.inMemory());
        KeyMetadata acknowledged = other.generate(Fixture.spec("d").build());
        byte[] material = material(other, acknowledged.id());

        RecoveryReport recovery = ops.recover();

        assertEquals(1, recovery.count(SagaResult.State.COMMITTED), recovery.toString());
        assertTrue(recovery.entries().get(0).detail().contains("versions kept: 1"), recovery.entries().toString());
        assertEquals(List.of(KeyId.of("d", 1), KeyId.of("other", 1)), held(), "d:2 and d:3 deleted, the new d:1 kept");
        assertArrayEquals(material, material(other, acknowledged.id()), "the acknowledged key is the one held");
        assertTrue(journal.unfinished().isEmpty());
        assertTrue(log.text().contains("d:1, it holds another record than the one this delete planned"), log.text());
    }

    @Test
    void aNewVersion1FromThisRuntimeWaitsForTheOpenDeleteThenRecoveryKeepsIt() {
        IntentJournal journal = journal("ordered.log");
        DefaultKeystoreOperations ops = deleteFailsHalfWay(journal);
        backend.reset();
        halfWay.disarm();

        KeyMetadata acknowledged = ops.generate(Fixture.spec("d").build()); // the open delete is finished first
        byte[] material = material(ops, acknowledged.id());
        assertTrue(journal.unfinished().isEmpty(), "the delete was finished before the new version was stored");
        RecoveryReport recovery = ops.recover();

        assertEquals(0, recovery.entries().size());
        assertEquals(List.of(KeyId.of("d", 1), KeyId.of("other", 1)), held());
        assertArrayEquals(material, material(ops, acknowledged.id()));
    }

    @Test
    void aNewVersionOfANameWhoseDeleteCannotBeFinishedYetIsRefusedAndNothingIsStored() {
        IntentJournal journal = journal("refused.log");
        DefaultKeystoreOperations ops = deleteFailsHalfWay(journal); // deletes keep failing

        UnavailableException refused = assertThrows(UnavailableException.class,
                () -> ops.generate(Fixture.spec("d").build()));
        assertTrue(refused.getMessage().contains("an earlier delete-all-versions of d (operation "
                + journal.unfinished().get(0).id() + ") is not finished yet"), refused.getMessage());
        assertThrows(UnavailableException.class, () -> ops.rotate("d"));
        assertEquals(List.of(KeyId.of("d", 2), KeyId.of("d", 3), KeyId.of("other", 1)), held(), "nothing stored");
        assertEquals(1, journal.unfinished().size());
        // another name is not held up
        ops.generate(Fixture.spec("free").build());

        backend.reset();
        halfWay.disarm();
        assertEquals(1, ops.recover().count(SagaResult.State.COMMITTED));
        assertEquals(List.of(KeyId.of("free", 1), KeyId.of("other", 1)), held());
    }

    @Test
    void anIntentJournaledByAnEarlierVersionWithoutRecordsDeletesNothing() {
        Path file = dir.resolve("earlier.log");
        DefaultKeystoreOperations ops = ops(backend, IntentJournal.inMemory());
        ops.generate(Fixture.spec("d").build());
        ops.rotate("d");
        // what the earlier version journaled for a delete of all versions: the name and the version numbers
        Map<String, String> earlier = new LinkedHashMap<>();
        earlier.put("name", "d");
        earlier.put("versions", "1,2");
        try (IntentJournal old = journal("earlier.log")) {
            old.begin(KeystoreSagas.DELETE_ALL, List.of(KeyId.of("d", 1), KeyId.of("d", 2)), earlier,
                    List.of("delete-versions"));
        }
        try (IntentJournal reopened = IntentJournal.open(JournalSettings.of(file), null)) {
            assertEquals(1, reopened.replay().unfinished().size(), "the earlier record is read");
            RecoveryReport recovery = ops(backend, reopened).recover();
            assertEquals(1, recovery.count(SagaResult.State.COMMITTED), recovery.toString());
            assertTrue(recovery.entries().get(0).detail().contains("versions kept: 1,2"), recovery.toString());
            assertTrue(reopened.unfinished().isEmpty());
        }
        assertEquals(List.of(KeyId.of("d", 1), KeyId.of("d", 2)), held(), "nothing deleted");
        assertTrue(log.text().contains("d:1, the intent was journaled by an earlier version"), log.text());
    }

    @Test
    void anEarlierRotateIntentIsStillUndoneByItsRecordDigest() {
        // a rotate killed after its deprecation, before the journal recorded it: r:2 stored, r:1 DEPRECATED
        DefaultKeystoreOperations dying = ops(backend, IntentJournal.inMemory());
        KeyMetadata previous = dying.generate(Fixture.spec("r").build());
        dying.runner(new SagaRunner(IntentJournal.inMemory(), null).watcher(
                org.openkcm.keystore.core.saga.CrashPoint.parse("rotate:1:after", where -> {
                    throw new TransactionsTest.Crash(where);
                })));
        assertThrows(TransactionsTest.Crash.class, () -> dying.rotate("r"));
        KeyId next = KeyId.of("r", 2);
        assertEquals(KeyStatus.DEPRECATED, backend.delegate().retrieveKey(previous.id()).metadata().status());
        // its intent as the earlier version journaled it: the digest of r:2, no created times
        Map<String, String> earlier = Map.of("previous", "r:1", "previous.revision", "1", "previous.active", "true",
                "next", "r:2", "key", "r:2", "sha256", KeystoreSagas.digest(backend.delegate().retrieveKey(next).sealed()));
        Path file = dir.resolve("earlier-rotate.log");
        try (IntentJournal old = IntentJournal.open(JournalSettings.of(file), null)) {
            java.util.UUID id = old.begin(KeystoreSagas.ROTATE, List.of(previous.id(), next), earlier,
                    List.of("store-next", "deprecate-previous")).id();
            old.stepDone(id, 0, Map.of()); // store-next was recorded; deprecate-previous was not
        }
        try (IntentJournal reopened = IntentJournal.open(JournalSettings.of(file), null)) {
            RecoveryReport recovery = ops(backend, reopened).recover();
            assertEquals(1, recovery.count(SagaResult.State.COMPENSATED), recovery.toString());
        }
        assertEquals(List.of(KeyId.of("r", 1)), held(), "r:2 removed: it held the record the intent names");
        assertEquals(KeyStatus.ACTIVE, backend.delegate().retrieveKey(previous.id()).metadata().status());
    }

    private List<KeyId> held() {
        return backend.delegate().listKeys(KeyFilter.all()).keys().stream().map(KeyMetadata::id).sorted().toList();
    }

    private static byte[] material(DefaultKeystoreOperations ops, KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    /** A backend whose deletes, once armed, fail after the first one succeeds. */
    static final class HalfWay implements Keystore {
        private final FaultyKeystore faulty;
        private final AtomicBoolean armed = new AtomicBoolean();

        HalfWay(FaultyKeystore faulty) {
            this.faulty = faulty;
        }

        void arm() {
            armed.set(true);
        }

        void disarm() {
            armed.set(false);
        }

        @Override
        public boolean deleteKey(KeyId id) {
            boolean deleted = faulty.deleteKey(id);
            if (armed.compareAndSet(true, false)) {
                faulty.failBefore(Operation.DELETE, 1_000, () -> new UnavailableException("injected: deletes fail"));
            }
            return deleted;
        }

        @Override
        public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
            faulty.storeKey(id, sealed, metadata);
        }

        @Override
        public StoredKey retrieveKey(KeyId id) {
            return faulty.retrieveKey(id);
        }

        @Override
        public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
            return faulty.updateKeyMetadata(id, metadata);
        }

        @Override
        public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
            faulty.rewrapKey(id, sealed, expectedRevision);
        }

        @Override
        public KeyPage listKeys(KeyFilter filter) {
            return faulty.listKeys(filter);
        }

        @Override
        public KeystoreHealth health() {
            return faulty.health();
        }
    }
}
