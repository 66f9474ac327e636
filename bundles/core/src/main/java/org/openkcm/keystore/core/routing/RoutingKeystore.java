package org.openkcm.keystore.core.routing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.metrics.Measured;

/**
 * The {@link Keystore} the operations layer talks to: each call goes to one backend. A new key
 * goes where the policy routes it now, and its location is recorded; every later call for that
 * key goes to the recorded backend, so a policy change never hides a stored key. A key the index
 * does not know is looked up in the shared placement when runtimes share one ({@link SharedPlacement}:
 * one read there, one at the backend it names), and only if that names none is it looked for in
 * every backend, the default target first; where it is found is then recorded. While placement is
 * shared, a key found in no backend is remembered as absent for a short window ({@link RecentAbsences}):
 * reads of it within the window are answered "not found" without asking every backend again.
 */
final class RoutingKeystore implements Keystore {
    private final RoutingTable router;
    private final LocationIndex index;

    RoutingKeystore(RoutingTable router, LocationIndex index) {
        this.router = router;
        this.index = index;
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        if (SharedPlacement.reserved(id)) {
            throw new InvalidInputException("keyId.name", "names starting with " + SharedPlacement.PREFIX
                    + " are reserved for the shared placement records", id);
        }
        String known = index.get(id);
        String stored = known != null ? known : shared(id); // else stored by another runtime sharing the backends
        if (stored != null) {
            // create-only across backends: an id already stored somewhere is stored (or refused) there
            call("storeKey", stored, id, ks -> {
                ks.storeKey(id, sealed, metadata);
                return null;
            });
            if (known == null) {
                index.put(id, stored);
                router.absences().forget(id);
            }
            return;
        }
        Route route = router.routeFor(metadata);
        Keystore backend = router.backendFor(route, metadata); // fail closed: refused, never sent elsewhere
        checkTier(route.target(), metadata.type(), id);
        try {
            backend = call("storeKey", route.target(), id, backend, ks -> {
                ks.storeKey(id, sealed, metadata); // create-only: an identical retry succeeds
                return ks;
            });
        } catch (KeyExistsException | InvalidInputException | PolicyRefusedException refused) {
            throw refused; // refused by the backend: nothing of ours was stored
        } catch (RuntimeException uncertain) {
            // it may have reached the backend all the same (a lost acknowledgement): the caller is told
            // it failed, so the record, if it is there, is ours and abandoned
            abandon(route.target(), id, sealed, metadata, uncertain);
            throw uncertain;
        }
        try {
            router.place(id, route.target(), metadata.type()); // the local index, and the shared placement other runtimes read
        } catch (RuntimeException e) {
            index.remove(id, route.target());
            try {
                backend.deleteKey(id);
            } catch (RuntimeException compensation) {
                e.addSuppressed(compensation);
                abandon(route.target(), id, sealed, metadata, e);
            }
            throw new UnavailableException("the key's placement cannot be recorded", id, e);
        }
    }

    /** Records the evidence that this record is ours and abandoned (reconciliation may then remove it). */
    private void abandon(String backend, KeyId id, SealedKey sealed, KeyMetadata metadata, RuntimeException cause) {
        try {
            router.abandoned().abandoned(backend, id, StoredKey.of(sealed, metadata));
        } catch (RuntimeException e) {
            cause.addSuppressed(e); // without the evidence the record is reported as unknown, never removed
        }
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        String location = index.get(id);
        if (location != null) {
            try {
                return call("retrieveKey", location, id, ks -> ks.retrieveKey(id));
            } catch (KeyNotFoundException e) {
                index.remove(id, location); // a stale entry (an in-memory backend restarted): forget it
                String moved = movedFrom(id, location, e);
                return call("retrieveKey", moved, id, ks -> ks.retrieveKey(id));
            }
        }
        String placed = shared(id);
        if (placed != null) {
            try {
                StoredKey found = call("retrieveKey", placed, id, ks -> ks.retrieveKey(id));
                index.put(id, placed);
                return found;
            } catch (KeyNotFoundException stale) {
                // placed there, not there (deleted meanwhile, or a placement left by a failed delete): look everywhere
                return probe(id);
            }
        }
        return probeUnlessAbsent(id);
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        return atKey("updateKeyMetadata", id, ks -> ks.updateKeyMetadata(id, metadata));
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        atKey("rewrapKey", id, ks -> {
            ks.rewrapKey(id, sealed, expectedRevision);
            return null;
        });
    }

    @Override
    public boolean deleteKey(KeyId id) {
        String location;
        try {
            location = locate(id);
        } catch (KeyNotFoundException e) {
            return false;
        }
        boolean deleted = call("deleteKey", location, id, ks -> ks.deleteKey(id));
        if (!deleted) {
            String moved = shared(id); // moved away by another runtime's migration: delete it where it is now
            if (moved != null && !moved.equals(location)) {
                index.remove(id, location);
                location = moved;
                deleted = call("deleteKey", location, id, ks -> ks.deleteKey(id));
            }
        }
        index.remove(id, location);
        SharedPlacement placement = router.placement();
        if (placement != null) {
            try {
                placement.forget(id, location);
            } catch (RuntimeException left) {
                // the key is deleted; a placement left behind names a backend that answers "not found",
                // after which a read looks everywhere: it never hides nor revives a key
            }
        }
        return deleted;
    }

    /**
     * Calls the backend the key is placed in; if it answers "not found" because another runtime
     * migrated the key away, calls the backend the shared placement names now.
     */
    private <T> T atKey(String what, KeyId id, Function<Keystore, T> op) {
        String location = locate(id);
        try {
            return call(what, location, id, op);
        } catch (KeyNotFoundException e) {
            String moved = movedFrom(id, location, e);
            return call(what, moved, id, op);
        }
    }

    /**
     * The backend a key went to after it left {@code location} (another runtime's migration), as
     * the shared placement says, recorded in the index; else {@code notFound} is thrown.
     */
    private String movedFrom(KeyId id, String location, KeyNotFoundException notFound) {
        String moved = shared(id);
        if (moved == null || moved.equals(location)) {
            throw notFound;
        }
        index.put(id, moved);
        return moved;
    }

    /** Where the shared placement puts the key, or null (not shared, or no placement recorded). */
    private String shared(KeyId id) {
        SharedPlacement placement = router.placement();
        if (placement == null) {
            return null;
        }
        return measured("placement", placement.backend(), null, ks -> placement.lookup(id));
    }

    /**
     * Metadata from every active backend, merged in {@link KeyId} order. A backend that is down,
     * not ready, or fails the listing as unavailable is left out and named in the page's
     * {@link KeyPage#unreadable()} (its keys are not listed until it is back); if none can be
     * read, the listing fails as unavailable. With one readable backend and nothing unreadable the
     * page is its own.
     */
    @Override
    public KeyPage listKeys(KeyFilter filter) {
        List<String> names = router.servingNames();
        if (names.isEmpty()) {
            throw new UnavailableException("no backend is active");
        }
        List<KeyPage> pages = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        for (String name : names) {
            Keystore ks = router.activeBackend(name);
            if (ks == null) {
                BackendStatus.State state = router.state(name);
                String reason = router.snapshot().downReasons.get(name);
                unreadable.add(name + ": " + (state == null ? "not active" : state.name().toLowerCase(java.util.Locale.ROOT))
                        + (reason == null ? "" : " (" + reason + ")"));
                continue;
            }
            try {
                pages.add(measured("listKeys", name, ks, backend -> backend.listKeys(filter)));
            } catch (UnavailableException e) {
                unreadable.add(name + ": " + e.getMessage());
            }
        }
        if (pages.isEmpty()) {
            // nothing could be read: an empty page would read as "no keys" to re-wrap, migrate or reconcile
            throw new UnavailableException("no backend can be read: " + String.join("; ", unreadable));
        }
        if (pages.size() == 1 && unreadable.isEmpty() && pages.get(0).keys().stream()
                .noneMatch(m -> SharedPlacement.reserved(m.id()))) {
            return pages.get(0);
        }
        TreeMap<KeyId, KeyMetadata> merged = new TreeMap<>();
        boolean more = false;
        for (KeyPage page : pages) {
            page.keys().forEach(m -> {
                if (!SharedPlacement.reserved(m.id())) {
                    merged.putIfAbsent(m.id(), m); // placement records are no keys
                }
            });
            more |= page.nextCursor().isPresent();
        }
        List<KeyMetadata> keys = new ArrayList<>();
        for (Map.Entry<KeyId, KeyMetadata> e : merged.entrySet()) {
            if (keys.size() == filter.pageSize()) {
                more = true;
                break;
            }
            keys.add(e.getValue());
        }
        String next = !more ? null : !keys.isEmpty() ? KeyPage.cursorAfter(keys.get(keys.size() - 1).id())
                : resumeAfter(pages); // every key read was a placement record: go on past them
        return KeyPage.of(keys, next, unreadable);
    }

    /** Where a listing goes on when a page held only placement records: after the least of each page's last id. */
    private static String resumeAfter(List<KeyPage> pages) {
        KeyId least = null;
        for (KeyPage page : pages) {
            if (page.nextCursor().isPresent() && !page.keys().isEmpty()) {
                KeyId last = page.keys().get(page.keys().size() - 1).id();
                least = least == null || last.compareTo(least) < 0 ? last : least;
            }
        }
        return least == null ? null : KeyPage.cursorAfter(least);
    }

    @Override
    public KeystoreHealth health() {
        List<String> down = new ArrayList<>();
        for (String name : router.servingNames()) {
            if (router.state(name) != BackendStatus.State.ACTIVE) {
                down.add(name + " " + router.state(name));
            }
        }
        return down.isEmpty() ? KeystoreHealth.up(Duration.ZERO)
                : KeystoreHealth.down(Duration.ZERO, "backends not active: " + down);
    }

    private <T> T call(String what, String name, KeyId id, Function<Keystore, T> op) {
        return call(what, name, id, router.backend(name, id), op);
    }

    /**
     * Calls the backend; if the call fails as unavailable because the backend was swapped while
     * it ran (its service is no longer the one serving the name: a bundle update or restart), waits
     * for the name to come back and calls once more. A backend that is unavailable while it still
     * serves its name is answered as it is.
     */
    private <T> T call(String what, String name, KeyId id, Keystore backend, Function<Keystore, T> op) {
        try {
            return measured(what, name, backend, op);
        } catch (UnavailableException e) {
            if (router.activeBackend(name) == backend) {
                throw e;
            }
            Keystore again = router.backend(name, id);
            if (again == backend) {
                throw e;
            }
            return measured(what, name, again, op);
        }
    }

    /** One call to a backend, timed and counted under its name when the core is measured. */
    private <T> T measured(String what, String name, Keystore backend, Function<Keystore, T> op) {
        return Measured.backendCall(router.meter(), name, what, () -> op.apply(backend));
    }

    /** The backend name the key is stored in: the index, else a probe. */
    String locate(KeyId id) {
        String location = index.get(id);
        if (location != null) {
            return location;
        }
        String placed = shared(id);
        if (placed != null) {
            index.put(id, placed);
            return placed;
        }
        probeUnlessAbsent(id);
        return index.get(id);
    }

    /**
     * A key the index does not know and the shared placement names no backend for: while placement
     * is shared, a key found in no backend within the absence window is not found without asking
     * them again (a key stored or migrated through this runtime since is in the index); else every
     * backend is asked ({@link #probe}), and a key found nowhere is remembered as absent.
     */
    private StoredKey probeUnlessAbsent(KeyId id) {
        if (router.placement() == null) {
            return probe(id);
        }
        RecentAbsences absences = router.absences();
        if (absences.contains(id)) {
            throw new KeyNotFoundException(id);
        }
        try {
            return probe(id);
        } catch (KeyNotFoundException nowhere) {
            absences.remember(id);
            throw nowhere;
        }
    }

    /** Looks for the key in every active backend, the default target first; records where it is. */
    private StoredKey probe(KeyId id) {
        List<String> unreachable = new ArrayList<>();
        for (String name : router.servingNames()) {
            Keystore ks = router.activeBackend(name);
            if (ks == null) {
                unreachable.add(name);
                continue;
            }
            try {
                StoredKey found = measured("retrieveKey", name, ks, backend -> backend.retrieveKey(id));
                index.put(id, name);
                adopt(id, found.metadata().type(), name);
                return found;
            } catch (KeyNotFoundException e) {
                // not there
            } catch (UnavailableException e) {
                unreachable.add(name);
            }
        }
        if (!unreachable.isEmpty()) {
            throw new UnavailableException("the key is in no active backend, and " + unreachable
                    + " cannot be asked now", id, null);
        }
        throw new KeyNotFoundException(id);
    }

    /**
     * Records in the shared placement a key found by a probe (stored before placement was shared),
     * only if none is recorded: a placement another runtime's migration wrote meanwhile is never
     * put back. The read has succeeded, so a failure here only leaves the next miss to probe again.
     */
    private void adopt(KeyId id, KeyType tier, String name) {
        SharedPlacement placement = router.placement();
        if (placement == null) {
            return;
        }
        try {
            placement.adopt(id, tier, name);
        } catch (RuntimeException notRecorded) {
            // the next runtime that misses the key probes again and records it
        }
    }

    private void checkTier(String target, KeyType type, KeyId id) {
        Registration r = router.snapshot().serving.get(target);
        if (r != null && !r.tiers().isEmpty() && !r.tiers().contains(type.name())) {
            throw new PolicyRefusedException(id, "backend " + target + " accepts tiers " + r.tiers() + ", not " + type);
        }
    }

}
