package org.openkcm.keystore.core.migration;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.Outcome;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.sealing.CheckedReads;
import org.openkcm.keystore.core.saga.KeystoreSagas;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.core.saga.Saga;
import org.openkcm.keystore.core.saga.SagaResult;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.saga.Step;
import org.osgi.service.log.Logger;

/**
 * Moves keys to where the routing policy now sends them. For each key stored elsewhere than its
 * route's target, in this order:
 * <ol>
 * <li><b>copy</b>: read the sealed record and metadata at the source, through the checks {@code get}
 * applies ({@link CheckedReads}: a record rolled back to an older revision is refused as an
 * integrity failure and nothing is written), and store them at the target;</li>
 * <li><b>verify</b>: read them back from the target, check they are the same, and open the record
 * with the KEK (the material is wiped at once);</li>
 * <li><b>switch</b>: record the target in the location index and, when placement is shared, in the
 * shared placement ({@link RoutingTable#switchPlacement}); reads go there from now on, on every runtime.
 * The shared placement is switched only if it still names the source (compare-and-set): of two
 * runtimes that move one key at once to two backends, one wins; the other's switch fails, it
 * removes its own copy, leaves the source alone and reports the key as not moved (a conflict);</li>
 * <li><b>check</b>: read the source again; if the key changed there meanwhile, undo;</li>
 * <li><b>delete</b> the source.</li>
 * </ol>
 * Each key's move is a saga over the intent journal ({@link #saga}: copy-to-target, verify-target,
 * switch-location as the pivot, with the check of step 4 inside it, then delete-source), so that a
 * process killed part-way is finished or undone by recovery at the next start.
 * Compensation keeps exactly one readable copy: a failure before the switch deletes what was
 * stored at the target, if it is our record (the source is untouched); a failure of the switch puts the index back and
 * deletes the copy; a failed delete of the source is checked by reading the source: if the key
 * is gone the move is complete, if it is still there the switch is undone and the copy deleted,
 * if it cannot be read the operation stays open and recovery deletes the source.
 * A key whose compensation fails too is reported with both reasons and logged as an error naming
 * the backend that may hold an orphan; the journal keeps it open and recovery removes the orphan.
 */
public final class Migrator {
    static final int PROGRESS_EVERY = 100;

    /** Switches a key's location; a seam for failure tests. */
    @FunctionalInterface
    public interface LocationSwitch {
        /**
         * Switches the key (of {@code tier}) from {@code from} to {@code to} (see {@link RoutingTable#switchPlacement}).
         *
         * @return where the key is placed now: {@code to}, or where another runtime switched it meanwhile
         */
        String switchTo(KeyId id, KeyType tier, String from, String to);
    }

    /** The switch found the key moved elsewhere by another runtime meanwhile: this run's move is undone. */
    static final class MovedElsewhere extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        MovedElsewhere(String placed) {
            super("another runtime moved the key to " + placed + " meanwhile");
        }
    }

    private final RoutingTable router;
    private final Logger logger;
    private final SagaRunner runner;
    private final CheckedReads reads;
    private final Saga saga;

    /** Journals each key's move in a journal in memory (no recovery after a crash). */
    public Migrator(RoutingTable router, Envelope envelope, Logger logger) {
        this(router, envelope, logger, new SagaRunner(IntentJournal.inMemory(), logger), id -> { });
    }

    /**
     * Journals each key's move through the runner: a process killed part-way is finished or undone
     * by recovery at the next start (with {@link #saga(RoutingTable, Consumer)} among its definitions).
     *
     * @param forget forgets what the runtime caches of a key
     */
    public Migrator(RoutingTable router, Envelope envelope, Logger logger, SagaRunner runner, Consumer<KeyId> forget) {
        this(router, envelope, logger, router::switchPlacement, runner, forget, CheckedReads.unchecked());
    }

    /**
     * As above, each key read at its source through {@code reads} (the rollback check of get) and
     * what is copied recorded there.
     */
    public Migrator(RoutingTable router, Envelope envelope, Logger logger, SagaRunner runner, Consumer<KeyId> forget,
            CheckedReads reads) {
        this(router, envelope, logger, router::switchPlacement, runner, forget, reads);
    }

    /** With another location switch: a seam for failure tests (they live with the routing table's tests). */
    public Migrator(RoutingTable router, Envelope envelope, Logger logger, LocationSwitch locations) {
        this(router, envelope, logger, locations, new SagaRunner(IntentJournal.inMemory(), logger), id -> { });
    }

    /** As above, journaled through the runner. */
    public Migrator(RoutingTable router, Envelope envelope, Logger logger, LocationSwitch locations, SagaRunner runner,
            Consumer<KeyId> forget) {
        this(router, envelope, logger, locations, runner, forget, CheckedReads.unchecked());
    }

    private Migrator(RoutingTable router, Envelope envelope, Logger logger, LocationSwitch locations, SagaRunner runner,
            Consumer<KeyId> forget, CheckedReads reads) {
        this.router = router;
        this.logger = logger;
        this.runner = runner;
        this.reads = reads;
        this.saga = saga(router, envelope, locations, forget);
    }

    private record Candidate(KeyMetadata metadata, String source) {
    }

    /** Runs once over the keys the filter matches (its paging is ignored). */
    public MigrationReport run(KeyFilter filter, Consumer<MigrationReport> progress) {
        KeyFilter f = (filter == null ? KeyFilter.all() : filter).toBuilder().cursor(null)
                .pageSize(Validation.MAX_PAGE_SIZE).build();
        int examined = 0;
        int inPlace = 0;
        List<Candidate> candidates = new ArrayList<>();
        for (String name : router.servingNames()) {
            Keystore backend = router.activeBackend(name);
            if (backend == null) {
                continue;
            }
            String cursor = null;
            do {
                KeyPage page = backend.listKeys(cursor == null ? f : f.withCursor(cursor));
                for (KeyMetadata m : page.keys()) {
                    if (RoutingTable.placementRecord(m.id())) {
                        continue; // the shared placement's own records stay where they are
                    }
                    String location = router.index().get(m.id());
                    if (location != null && !location.equals(name)) {
                        continue; // a copy the index does not point at: not this run's business
                    }
                    examined++;
                    if (router.routeFor(m).target().equals(name)) {
                        inPlace++;
                    } else {
                        candidates.add(new Candidate(m, name));
                    }
                }
                cursor = page.nextCursor().orElse(null);
            } while (cursor != null);
        }
        Logs.info(logger, "Migration: {} keys examined, {} to move", examined, candidates.size());
        int moved = 0;
        Map<KeyId, String> failed = new LinkedHashMap<>();
        int done = 0;
        for (Candidate c : candidates) {
            String target = router.routeFor(c.metadata()).target();
            try {
                move(c.metadata().id(), c.source(), target);
                moved++;
            } catch (RuntimeException e) {
                failed.put(c.metadata().id(), e.getMessage());
                Logs.warn(logger, "Migration of key {} from {} to {} failed: {}", c.metadata().id(), c.source(),
                        target, e.getMessage());
            }
            if (++done % PROGRESS_EVERY == 0 && progress != null) {
                progress.accept(new MigrationReport(examined, moved, inPlace, failed, false));
            }
        }
        MigrationReport report = new MigrationReport(examined, moved, inPlace, failed, true);
        Logs.info(logger, "{}", report);
        if (progress != null) {
            progress.accept(report);
        }
        return report;
    }

    /** Moves one key; on failure the key is readable exactly once, where it was, and the exception says why. */
    void move(KeyId id, String sourceName, String targetName) {
        Keystore source = router.backend(sourceName, id);
        router.backend(targetName, id); // unavailable at once: nothing is journaled
        StoredKey original = reads.read(id, source); // a rolled-back record is refused here: nothing is written
        SagaResult result = runner.run(saga, List.of(id), params(id, sourceName, targetName, original.sealed()),
                Map.of(RECORD, original));
        switch (result.state()) {
            case COMMITTED -> {
                reads.wrote(original.metadata());
                return;
            }
            case COMPENSATED -> {
                if (result.failure() instanceof MovedElsewhere moved) {
                    Logs.info(logger, "Migration of key {} to {}: {}; this run's copy was removed and the key left "
                            + "there", id, targetName, moved.getMessage());
                    throw new IllegalStateException("conflict: not moved: " + moved.getMessage()
                            + "; this run's copy at " + targetName + " was removed and " + sourceName + " left alone",
                            moved);
                }
                throw failure(result, " (undone: the key is still where it was)");
            }
            case PENDING_COMPENSATION -> {
                Logs.error(logger, "Migration of key {} failed and its copy at {} could not be removed yet: recovery "
                        + "removes it ({})", id, targetName, result.failure().getMessage());
                throw failure(result, "; the copy at " + targetName + " could not be removed yet: the journal keeps "
                        + "the operation open and recovery removes it");
            }
            case PENDING_FORWARD -> {
                // taken from recovery while it is settled here: a pass must not delete the source meanwhile
                if (!runner.claim(result.id())) {
                    throw failure(result, "; the move is left to recovery, which finishes it");
                }
                try {
                    deleteFailed(result, id, source, sourceName, targetName);
                } finally {
                    runner.release(result.id());
                }
            }
            default -> throw new IllegalStateException("unexpected state " + result.state());
        }
    }

    /**
     * The delete of the source failed after the switch: as before the journal, the source is read
     * again; gone means the move is complete; still there means the switch is undone and the copy
     * deleted (the journal then records the operation compensated; were the process to die
     * half-way, recovery's delete-source does nothing, since the index no longer points at the
     * target); unreadable leaves the operation open: recovery deletes the source at the next start.
     */
    private void deleteFailed(SagaResult result, KeyId id, Keystore source, String sourceName, String targetName) {
        RuntimeException e = result.failure();
        boolean stillThere;
        StoredKey there = null;
        try {
            there = source.retrieveKey(id);
            stillThere = true;
        } catch (KeyNotFoundException gone) {
            stillThere = false;
        } catch (RuntimeException unknown) {
            e.addSuppressed(unknown);
            Logs.error(logger, "Migration of key {}: it now lives in {}, but {} may still hold the old copy (its delete "
                    + "failed: {}; it cannot be read to check); recovery deletes it", id, targetName, sourceName,
                    e.getMessage());
            throw new IllegalStateException("step delete: the key was moved to " + targetName + " but the copy at "
                    + sourceName + " could not be deleted or checked: " + e.getMessage()
                    + "; recovery deletes it at the next start", e);
        }
        if (!stillThere) {
            runner.journal().stepDone(result.id(), DELETE_SOURCE, Map.of());
            runner.journal().end(result.id(), Outcome.COMMITTED);
            return; // the delete did its work before it failed
        }
        restoreLocation(id, there.metadata().type(), sourceName, targetName, e);
        RuntimeException thrown = undoCopy("delete", e, id, router.backend(targetName, id), targetName);
        runner.journal().end(result.id(), Outcome.COMPENSATED);
        throw thrown;
    }

    private static RuntimeException failure(SagaResult result, String suffix) {
        RuntimeException cause = result.failure();
        String step = result.failedStep() >= 0 ? SHORT[result.failedStep()] : "end";
        return new IllegalStateException("step " + step + ": " + (cause == null ? "failed" : cause.getMessage()) + suffix,
                cause);
    }

    // --------------------------------------------------------------- the saga

    /** The saga kind of a key's migration in the intent journal. */
    public static final String MIGRATE = "migrate";
    static final String RECORD = "record";
    static final int DELETE_SOURCE = 3;
    private static final String[] SHORT = {"copy", "verify", "switch", "delete"};

    static Map<String, String> params(KeyId id, String source, String target, SealedKey sealed) {
        return Map.of("key", id.toString(), "source", source, "target", target, "sha256", KeystoreSagas.digest(sealed));
    }

    /**
     * The saga of one key's migration, for recovery: it needs only the router (verify, the one step
     * that opens the record, is never repeated by recovery: before the switch is recorded the
     * operation is undone).
     *
     * @param forget forgets what the runtime caches of a key
     */
    public static Saga saga(RoutingTable router, Consumer<KeyId> forget) {
        return saga(router, null, router::switchPlacement, forget);
    }

    /**
     * <ul>
     * <li>{@code copy-to-target} (COMPENSATABLE): stores the source's record at the target;
     * undone by deleting the target's record only if its digest is ours and the index does not
     * point at it (the pivot's undo runs first);</li>
     * <li>{@code verify-target} (COMPENSATABLE): reads the copy back, compares it, opens it;</li>
     * <li>{@code switch-location} (PIVOT): the index (and the shared placement, only if it still
     * names the source) points at the target; a placement another runtime switched elsewhere
     * meanwhile fails the step ({@link MovedElsewhere}: the index follows that placement and the saga
     * is undone, which removes this run's copy); then the source is read again: a key that changed
     * there meanwhile fails the step (and the saga is undone); undone by pointing the index (and the
     * placement, if it still names the target) at the source again if the source still holds the key;</li>
     * <li>{@code delete-source} (RETRIABLE, once per run): deletes the source, only while the index
     * points at the target, the target holds our record, and the source still holds the record
     * copied (never a key stored there since under the same id).</li>
     * </ul>
     */
    static Saga saga(RoutingTable router, Envelope envelope, LocationSwitch locations, Consumer<KeyId> forget) {
        return new Saga(MIGRATE, List.of(
                Step.compensatable("copy-to-target", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    StoredKey original = c.attachment(RECORD, StoredKey.class);
                    try {
                        router.backend(c.param("target"), id).storeKey(id, original.sealed(), original.metadata());
                    } catch (KeyExistsException e) {
                        throw new IllegalStateException(c.param("target") + " already holds a different record of "
                                + "the key; left as it is", e);
                    }
                }, c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    String target = c.param("target");
                    if (target.equals(router.index().get(id))) {
                        return; // the index points at the copy: it is the key now, never removed here
                    }
                    Keystore t = router.backend(target, id);
                    try {
                        if (c.param("sha256").equals(KeystoreSagas.digest(t.retrieveKey(id).sealed()))) {
                            t.deleteKey(id);
                        }
                    } catch (KeyNotFoundException gone) {
                        // never stored, or removed already
                    } finally {
                        forget.accept(id);
                    }
                }),
                Step.compensatable("verify-target", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    StoredKey original = c.attachment(RECORD, StoredKey.class);
                    StoredKey copy = router.backend(c.param("target"), id).retrieveKey(id);
                    if (!copy.equals(original)) {
                        throw new IntegrityException(id, "the copy read back from " + c.param("target")
                                + " differs from the source");
                    }
                    if (envelope != null) {
                        Bytes.wipe(envelope.open(copy.sealed(), copy.metadata()));
                    }
                }, c -> {
                }),
                Step.pivot("switch-location", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    String sourceName = c.param("source");
                    KeyType tier = c.attachment(RECORD, StoredKey.class).metadata().type();
                    String placed = locations.switchTo(id, tier, sourceName, c.param("target"));
                    forget.accept(id);
                    if (!placed.equals(c.param("target"))) {
                        throw new MovedElsewhere(placed);
                    }
                    StoredKey now;
                    try {
                        now = router.backend(sourceName, id).retrieveKey(id);
                    } catch (KeyNotFoundException e) {
                        now = null; // deleted meanwhile: the copy is all there is
                    } catch (RuntimeException e) {
                        now = null; // cannot tell: delete-source decides
                    }
                    if (now != null && !c.param("sha256").equals(KeystoreSagas.digest(now.sealed()))) {
                        throw new IllegalStateException("the key changed at " + sourceName
                                + " while it was copied; run the migration again");
                    }
                }, c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    String sourceName = c.param("source");
                    if (!c.param("target").equals(router.index().get(id))) {
                        return;
                    }
                    StoredKey there;
                    try {
                        there = router.backend(sourceName, id).retrieveKey(id);
                    } catch (KeyNotFoundException gone) {
                        return; // the copy is all there is: the index stays on it
                    }
                    router.switchPlacement(id, there.metadata().type(), c.param("target"), sourceName);
                    forget.accept(id);
                }),
                Step.retriable("delete-source", c -> {
                    KeyId id = KeyId.parse(c.param("key"));
                    String target = c.param("target");
                    if (!target.equals(router.index().get(id))) {
                        return; // the switch was undone: the source is the key
                    }
                    try {
                        if (!c.param("sha256").equals(KeystoreSagas.digest(router.backend(target, id).retrieveKey(id)
                                .sealed()))) {
                            return; // the target does not hold our copy: never delete the source then
                        }
                    } catch (KeyNotFoundException noCopy) {
                        return;
                    }
                    Keystore source = router.backend(c.param("source"), id);
                    try {
                        if (!c.param("sha256").equals(KeystoreSagas.digest(source.retrieveKey(id).sealed()))) {
                            return; // the source holds another record than the one copied: not ours to delete
                        }
                        source.deleteKey(id); // false if gone already
                    } catch (KeyNotFoundException gone) {
                        // deleted already (a repeat after a crash)
                    } finally {
                        forget.accept(id);
                    }
                }).attempts(1)));
    }

    private void restoreLocation(KeyId id, KeyType tier, String sourceName, String targetName, RuntimeException cause) {
        try {
            router.switchPlacement(id, tier, targetName, sourceName);
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** Deletes the copy at the target; returns the exception to throw, naming the step. */
    private RuntimeException undoCopy(String step, RuntimeException cause, KeyId id, Keystore target, String name) {
        try {
            target.deleteKey(id);
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
            Logs.error(logger, "Migration of key {} failed at step {} and its copy at {} could not be deleted: an "
                    + "orphan copy remains there ({})", id, step, name, e.getMessage());
            return new IllegalStateException("step " + step + ": " + cause.getMessage() + "; the copy at " + name
                    + " could not be removed: " + e.getMessage(), cause);
        }
        return new IllegalStateException("step " + step + ": " + cause.getMessage() + " (undone: the key is still "
                + "where it was)", cause);
    }
}
