package org.openkcm.keystore.core.routing;

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
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.service.log.Logger;

/**
 * Moves keys to where the routing policy now sends them. For each key stored elsewhere than its
 * route's target, in this order:
 * <ol>
 * <li><b>copy</b>: read the sealed record and metadata at the source, store them at the target;</li>
 * <li><b>verify</b>: read them back from the target, check they are the same, and open the record
 * with the KEK (the material is wiped at once);</li>
 * <li><b>switch</b>: record the target in the location index; reads go there from now on;</li>
 * <li><b>check</b>: read the source again; if the key changed there meanwhile, undo;</li>
 * <li><b>delete</b> the source.</li>
 * </ol>
 * Compensation keeps exactly one readable copy: a failure before the switch deletes what was
 * stored at the target (the source is untouched); a failure of the switch puts the index back and
 * deletes the copy; a failed delete of the source is checked by reading the source: if the key
 * is gone the move is complete, if it is still there the switch is undone and the copy deleted.
 * A key whose compensation fails too is reported with both reasons and logged as an error naming
 * the backend that may hold an orphan.
 */
public final class Migrator {
    static final int PROGRESS_EVERY = 100;

    /** Records a key's new location; a seam for failure tests. */
    @FunctionalInterface
    public interface LocationSwitch {
        void put(KeyId id, String backend);
    }

    private final Router router;
    private final Envelope envelope;
    private final Logger logger;
    private final LocationSwitch locations;

    public Migrator(Router router, Envelope envelope, Logger logger) {
        this(router, envelope, logger, router.index()::put);
    }

    Migrator(Router router, Envelope envelope, Logger logger, LocationSwitch locations) {
        this.router = router;
        this.envelope = envelope;
        this.logger = logger;
        this.locations = locations;
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
        Keystore target = router.backend(targetName, id);
        StoredKey original = source.retrieveKey(id);
        // 1. copy
        try {
            target.storeKey(id, original.sealed(), original.metadata());
        } catch (KeyExistsException e) {
            throw new IllegalStateException("step copy: " + targetName + " already holds a different record of "
                    + "the key; left as it is", e);
        } catch (RuntimeException e) {
            throw undoCopy("copy", e, id, target, targetName);
        }
        // 2. verify
        try {
            StoredKey copy = target.retrieveKey(id);
            if (!copy.equals(original)) {
                throw new IntegrityException(id, "the copy read back from " + targetName + " differs from the source");
            }
            Bytes.wipe(envelope.open(copy.sealed(), copy.metadata()));
        } catch (RuntimeException e) {
            throw undoCopy("verify", e, id, target, targetName);
        }
        // 3. switch
        try {
            locations.put(id, targetName);
        } catch (RuntimeException e) {
            restoreLocation(id, sourceName, e);
            throw undoCopy("switch", e, id, target, targetName);
        }
        // 4. check that the source did not change meanwhile (a concurrent update went there)
        StoredKey now;
        try {
            now = source.retrieveKey(id);
        } catch (KeyNotFoundException e) {
            now = null; // deleted meanwhile: the copy is all there is
        } catch (RuntimeException e) {
            now = original; // cannot tell: the delete below decides
        }
        if (now != null && !now.equals(original)) {
            RuntimeException changed = new IllegalStateException("the key changed at " + sourceName
                    + " while it was copied; run the migration again");
            restoreLocation(id, sourceName, changed);
            throw undoCopy("check", changed, id, target, targetName);
        }
        // 5. delete the source
        try {
            if (now != null) {
                source.deleteKey(id);
            }
        } catch (RuntimeException e) {
            boolean stillThere;
            try {
                source.retrieveKey(id);
                stillThere = true;
            } catch (KeyNotFoundException gone) {
                stillThere = false;
            } catch (RuntimeException unknown) {
                e.addSuppressed(unknown);
                Logs.error(logger, "Migration of key {}: it now lives in {}, but {} may still hold an orphan copy "
                        + "(its delete failed: {}; it cannot be read to check)", id, targetName, sourceName, e.getMessage());
                throw new IllegalStateException("step delete: the key was moved to " + targetName + " but the copy at "
                        + sourceName + " could not be deleted or checked: " + e.getMessage(), e);
            }
            if (!stillThere) {
                return; // the delete did its work before it failed
            }
            restoreLocation(id, sourceName, e);
            throw undoCopy("delete", e, id, target, targetName);
        }
    }

    private void restoreLocation(KeyId id, String sourceName, RuntimeException cause) {
        try {
            router.index().put(id, sourceName);
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
