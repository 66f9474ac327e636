package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLContext;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;

import io.github.jopenlibs.vault.json.JsonValue;

/**
 * A {@link Keystore} on an OpenBao KV version 2 mount. See {@link Layout} for the paths.
 *
 * <h2>Order of writes, and what a half-done operation looks like</h2>
 * <ul>
 * <li><b>store</b>: (1) claim the index entry with {@code cas=0}, pointing at the record's
 * location; (2) write the record with {@code cas=0}. The record is the commit point: a crash
 * between (1) and (2) leaves a claim without a record, which every reader treats as absent
 * (retrieve: not found; list: skipped; delete: removes the claim and answers false). The same
 * store retried completes it; a store of the same id with another tier or owner is refused
 * ({@link KeyExistsException}) until the claim is deleted. A record never exists without its
 * index entry, so no material is ever unreachable.</li>
 * <li><b>update / rewrap</b>: one write of the record with {@code cas} = the KV version read,
 * then the superseded KV version is destroyed, so that an old sealed record (under the old
 * key-encryption key) does not linger in the KV history. A crash before that destroy leaves
 * only an older version behind the current one; {@code deleteKey} removes it with the rest.</li>
 * <li><b>delete</b>: (1) mark the index entry {@code deleting} with {@code cas} (exactly one of
 * racing deletes wins; readers see the key gone from here on); (2) delete the record's metadata,
 * which destroys every version: no soft delete is left; (3) delete the index entry's metadata.
 * If (2) is refused by policy, (1) is undone and nothing has changed. A crash after (1) leaves a
 * marked entry that the next delete, or a store of the same id, finishes.</li>
 * </ul>
 * Stores and deletes of <em>different</em> ids never interfere. A store that races a delete of
 * the <em>same</em> id is not linearizable on KV v2 (it has no multi-path transaction and DELETE
 * takes no {@code cas}); the core serializes operations on one id.
 * <p>
 * The location of each id read or written here is remembered, so that retrieve, update and
 * rewrap read the record directly; a remembered location whose record has gone falls back to
 * the index.
 */
final class OpenBaoKeystore implements Keystore, AutoCloseable {
    /** Rounds of an optimistic loop before giving up on a key that keeps changing under us. */
    private static final int MAX_ROUNDS = 16;
    private static final int MAX_REMEMBERED = 100_000;

    private final OpenBaoSettings settings;
    private final Layout layout;
    private final Transport transport;
    private final Auth auth;
    private final Kv kv;
    private final Namespaces namespaces;
    private final ConcurrentHashMap<KeyId, String> locations = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** @throws IllegalArgumentException if the TLS files cannot be used */
    OpenBaoKeystore(OpenBaoSettings settings) {
        this.settings = settings;
        this.layout = new Layout(settings.pathPrefix);
        SSLContext ssl = settings.address.startsWith("https://") ? Tls.context(settings) : null;
        this.transport = new Transport(settings, ssl);
        try {
            this.auth = new Auth(settings, transport);
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
        this.kv = new Kv(settings, transport, auth);
        this.namespaces = new Namespaces(settings, kv);
    }

    /** An index entry as read. */
    private static final class Entry {
        final KeyId id;
        final String location;
        final boolean deleting;
        final long version;

        Entry(KeyId id, String location, boolean deleting, long version) {
            this.id = id;
            this.location = location;
            this.deleting = deleting;
            this.version = version;
        }
    }

    /** A stored key as read, with where it is and its KV version (the compare-and-set token). */
    private static final class Located {
        final String namespace;
        final String path;
        final long version;
        final StoredKey stored;

        Located(String namespace, String path, long version, StoredKey stored) {
            this.namespace = namespace;
            this.path = path;
            this.version = version;
            this.stored = stored;
        }
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        Validation.storeRequest(id, sealed, metadata);
        ensureOpen();
        String location = Layout.location(metadata);
        String recordPath = layout.record(location, id);
        StoredKey wanted = StoredKey.of(sealed, metadata);
        for (int round = 0; round < MAX_ROUNDS; round++) {
            boolean claimed = claim(id, location);
            Kv.Write written;
            try {
                written = create("store", id, namespaces.of(location), recordPath, Records.record(sealed, metadata));
            } catch (PolicyRefusedException | InvalidInputException refused) {
                // Nothing was written (a refused write, or a namespace that may not be created).
                if (claimed) {
                    forget("store (undo the index entry)", id, layout.index(id));
                }
                throw refused;
            }
            if (written.written()) {
                remember(id, location);
                return;
            }
            Kv.Secret existing = kv.read("store", id, namespaces.of(location), recordPath);
            if (existing == null) {
                continue; // deleted meanwhile: start again
            }
            if (!Records.storedKey(id, existing.data).equals(wanted)) {
                throw new KeyExistsException(id);
            }
            remember(id, location); // an identical retry
            return;
        }
        throw busy("store", id);
    }

    /**
     * Claims the index entry of an id for a location.
     *
     * @return true if this call created the entry, false if it already pointed at this location
     * @throws KeyExistsException if the id is stored at another location (another tier or owner)
     */
    private boolean claim(KeyId id, String location) {
        String indexPath = layout.index(id);
        for (int round = 0; round < MAX_ROUNDS; round++) {
            Kv.Write written = create("store (index)", id, namespaces.index(), indexPath,
                    Records.index(id, location, Records.LIVE));
            if (written.written()) {
                return true;
            }
            Entry entry = readEntry("store", id);
            if (entry == null) {
                continue; // removed meanwhile: claim again
            }
            if (entry.deleting) {
                finishDelete(entry);
                continue;
            }
            if (!entry.location.equals(location)) {
                throw new KeyExistsException(id);
            }
            return false;
        }
        throw busy("store", id);
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        Validation.required("keyId", id);
        ensureOpen();
        return locate("retrieve", id).stored;
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        Validation.required("keyId", id);
        Validation.required("metadata", metadata);
        ensureOpen();
        boolean uncertain = false;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            Located current = locate("update", id);
            KeyMetadata stored = current.stored.metadata();
            if (uncertain && stored.equals(metadata)) {
                return metadata; // our own earlier attempt was applied; its answer was lost
            }
            Validation.metadataUpdate(stored, metadata);
            Kv.Write written = kv.write("update", id, current.namespace, current.path,
                    Records.record(current.stored.sealed(), metadata), current.version);
            if (written.written()) {
                destroySuperseded(id, current.namespace, current.path, current.version);
                return metadata;
            }
            // The KV version moved: a concurrent update (the next round reports the conflict) or a
            // rewrap (the next round applies this update on top of it).
            uncertain |= written.uncertain;
        }
        throw busy("update", id);
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        Validation.required("keyId", id);
        Validation.required("sealed", sealed);
        ensureOpen();
        boolean uncertain = false;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            Located current = locate("rewrap", id);
            KeyMetadata stored = current.stored.metadata();
            if (uncertain && current.stored.sealed().equals(sealed) && stored.revision() == expectedRevision) {
                return;
            }
            Validation.rewrap(stored, expectedRevision);
            Kv.Write written = kv.write("rewrap", id, current.namespace, current.path, Records.record(sealed, stored),
                    current.version);
            if (written.written()) {
                destroySuperseded(id, current.namespace, current.path, current.version);
                return;
            }
            uncertain |= written.uncertain;
        }
        throw busy("rewrap", id);
    }

    @Override
    public boolean deleteKey(KeyId id) {
        Validation.required("keyId", id);
        ensureOpen();
        locations.remove(id);
        String indexPath = layout.index(id);
        for (int round = 0; round < MAX_ROUNDS; round++) {
            Entry entry = readEntry("delete", id);
            if (entry == null) {
                return false;
            }
            if (entry.deleting) {
                finishDelete(entry); // another delete runs, or one stopped half-way
                return false;
            }
            String recordPath = layout.record(entry.location, id);
            String recordNamespace = namespaces.of(entry.location);
            if (kv.read("delete", id, recordNamespace, recordPath) == null) {
                // A claim whose store never completed: not a key. Tidy it away.
                kv.deleteAll("delete (index)", id, namespaces.index(), indexPath);
                return false;
            }
            Kv.Write mark = kv.write("delete (index)", id, namespaces.index(), indexPath,
                    Records.index(id, entry.location, Records.DELETING), entry.version);
            if (!mark.written()) {
                if (!mark.uncertain) {
                    continue; // changed meanwhile: look again
                }
                Entry now = readEntry("delete", id);
                if (now == null || !now.deleting) {
                    continue;
                }
                mark = new Kv.Write(now.version, false); // our own mark, whose answer was lost
            }
            try {
                kv.deleteAll("delete", id, recordNamespace, recordPath);
            } catch (PolicyRefusedException refused) {
                // Undo the mark: to every reader nothing has changed.
                try {
                    kv.write("delete (undo)", id, namespaces.index(), indexPath,
                            Records.index(id, entry.location, Records.LIVE), mark.version);
                } catch (KeystoreException undoFailed) {
                    refused.addSuppressed(undoFailed);
                }
                throw refused;
            }
            kv.deleteAll("delete (index)", id, namespaces.index(), indexPath);
            return true;
        }
        throw busy("delete", id);
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        Validation.required("filter", filter);
        ensureOpen();
        KeyId after = filter.cursor().map(KeyPage::positionOf).orElse(null);
        return KeyPage.select(() -> new Walk(filter, after), filter);
    }

    @Override
    public KeystoreHealth health() {
        long start = System.nanoTime();
        if (closed) {
            return down(start, "the OpenBao keystore " + settings.name + " is closed");
        }
        // the node probed; a failed probe moves the next call (and probe) to the next node of a cluster
        String node = transport.addresses.current();
        try {
            Transport.Reply reply = transport.send("GET", healthQuery(), null, null, remaining(start), null);
            String serverProblem = serverProblem(node, reply);
            if (serverProblem != null) {
                return down(start, serverProblem);
            }
            Auth.Session session = auth.peek();
            if (session == null) {
                auth.replaceWithin(null, remaining(start));
                session = auth.peek();
            }
            if (session == null) {
                return down(start, "not logged in to OpenBao" + (auth.problem() == null ? "" : ": " + auth.problem()));
            }
            if (!auth.isValid(session, remaining(start))) {
                auth.replaceWithin(session, remaining(start)); // AppRole logs in again; a static token cannot
            }
            return KeystoreHealth.up(elapsed(start));
        } catch (java.net.http.HttpConnectTimeoutException e) {
            return down(start, "OpenBao at " + node + " is unreachable: " + Transport.describe(e));
        } catch (TimeoutException | java.net.http.HttpTimeoutException e) {
            // the probe's own deadline and the HTTP client's timeout (set to what is left of it) are the same
            // bound; whichever fires first, a server that stalls is reported as stalled, not unreachable
            return down(start, "OpenBao at " + node + " did not answer within "
                    + settings.healthTimeout.toMillis() + " ms");
        } catch (IOException e) {
            return down(start, "OpenBao at " + node
                    + (Transport.verdict(e) == Transport.Verdict.FATAL ? ": " : " is unreachable: ")
                    + Transport.describe(e));
        } catch (UnavailableException e) {
            return down(start, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return down(start, "interrupted");
        } catch (RuntimeException e) {
            return down(start, "health probe failed: " + Transport.describe(e));
        }
    }

    /**
     * One node: only the active node is healthy. A cluster (failover addresses): a standby is
     * healthy too, since it forwards every request to the active node.
     */
    private String healthQuery() {
        return transport.addresses.cluster() ? "sys/health?standbyok=true&perfstandbyok=true"
                : "sys/health?standbyok=false&perfstandbyok=false";
    }

    private String serverProblem(String node, Transport.Reply reply) {
        JsonValue sealed = reply.json().get("sealed");
        if (reply.status == 503 || (sealed != null && sealed.isBoolean() && sealed.asBoolean())) {
            return "OpenBao at " + node + " is sealed";
        }
        switch (reply.status) {
            case 200:
                return null;
            case 429:
                return "OpenBao at " + node + " is a standby node, not the active one";
            case 472:
                return "OpenBao at " + node + " is a disaster-recovery secondary";
            case 473:
                return "OpenBao at " + node + " is a performance standby node";
            case 501:
                return "OpenBao at " + node + " is not initialized";
            default:
                return "OpenBao at " + node + " answered sys/health with " + reply.describe();
        }
    }

    // ---- reading ----

    /** The key, its path and KV version: through the remembered location, else the index. */
    private Located locate(String what, KeyId id) {
        String remembered = locations.get(id);
        if (remembered != null) {
            Located found = readRecord(what, id, remembered);
            if (found != null) {
                return found;
            }
            locations.remove(id, remembered);
        }
        Entry entry = readEntry(what, id);
        if (entry == null || entry.deleting) {
            throw new KeyNotFoundException(id);
        }
        Located found = readRecord(what, id, entry.location);
        if (found == null) {
            throw new KeyNotFoundException(id); // a store that never completed
        }
        remember(id, entry.location);
        return found;
    }

    private Located readRecord(String what, KeyId id, String location) {
        String path = layout.record(location, id);
        String namespace = namespaces.of(location);
        Kv.Secret secret = kv.read(what, id, namespace, path);
        if (secret == null) {
            return null;
        }
        StoredKey stored = Records.storedKey(id, secret.data);
        if (!Layout.location(stored.metadata()).equals(location)) {
            throw new IntegrityException(id, "the OpenBao record at " + path + " names another tier or owner");
        }
        return new Located(namespace, path, secret.version, stored);
    }

    private Entry readEntry(String what, KeyId id) {
        Kv.Secret secret = kv.read(what, id, namespaces.index(), layout.index(id));
        if (secret == null) {
            return null;
        }
        JsonValue location = secret.data.get(Records.I_LOCATION);
        JsonValue state = secret.data.get(Records.I_STATE);
        JsonValue storedId = secret.data.get(Records.F_ID);
        if (location == null || !location.isString() || !Layout.isLocation(location.asString())
                || storedId == null || !storedId.isString() || !id.toString().equals(storedId.asString())) {
            throw new IntegrityException(id, "the OpenBao index entry " + layout.index(id) + " is malformed");
        }
        boolean deleting = state != null && state.isString() && Records.DELETING.equals(state.asString());
        return new Entry(id, location.asString(), deleting, secret.version);
    }

    // ---- writing helpers ----

    private void finishDelete(Entry entry) {
        kv.deleteAll("delete", entry.id, namespaces.of(entry.location), layout.record(entry.location, entry.id));
        kv.deleteAll("delete (index)", entry.id, namespaces.index(), layout.index(entry.id));
    }

    /**
     * A create-only write ({@code cas=0}). A namespace or mount that does not exist yet is created
     * first (per-tenant mode), then the write is made again.
     */
    private Kv.Write create(String what, KeyId id, String namespace, String path, Map<String, Object> data) {
        try {
            return kv.write(what, id, namespace, path, data, 0);
        } catch (Kv.MissingMount missing) {
            namespaces.provision(missing, id);
        }
        try {
            return kv.write(what, id, namespace, path, data, 0);
        } catch (Kv.MissingMount stillMissing) {
            throw new UnavailableException(what + ": " + stillMissing.getMessage() + ", after creating it", id, null);
        }
    }

    private void destroySuperseded(KeyId id, String namespace, String path, long version) {
        try {
            kv.destroy("destroy the superseded version", id, namespace, path, version);
        } catch (KeystoreException e) {
            // Best effort: without the destroy capability the superseded version stays in the KV
            // history (as KV v2 keeps it) until deleteKey removes every version.
        }
    }

    private void forget(String what, KeyId id, String indexPath) {
        try {
            kv.deleteAll(what, id, namespaces.index(), indexPath);
        } catch (KeystoreException e) {
            // A claim without a record reads as absent; a later delete tidies it.
        }
    }

    private void remember(KeyId id, String location) {
        if (locations.size() >= MAX_REMEMBERED) {
            locations.clear();
        }
        locations.put(id, location);
    }

    private UnavailableException busy(String what, KeyId id) {
        return new UnavailableException(what + ": the key keeps changing under concurrent writers; try again", id,
                null);
    }

    private void ensureOpen() {
        if (closed) {
            throw new UnavailableException("the OpenBao keystore " + settings.name + " is closed");
        }
    }

    // ---- health helpers ----

    private Duration remaining(long start) throws TimeoutException {
        Duration left = settings.healthTimeout.minus(elapsed(start));
        if (left.isNegative() || left.isZero()) {
            throw new TimeoutException();
        }
        return left;
    }

    private static Duration elapsed(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private static KeystoreHealth down(long start, String reason) {
        return KeystoreHealth.down(elapsed(start), reason);
    }

    @Override
    public void close() {
        closed = true;
        auth.close();
        transport.close();
    }

    @Override
    public String toString() {
        return "OpenBaoKeystore[" + settings.name + " at " + settings.addressesShown() + ", " + settings.kvMount + "/"
                + settings.pathPrefix + (settings.perTenant ? ", a namespace per tenant under " + settings.namespaceBase
                        : settings.namespace.isEmpty() ? "" : ", namespace " + settings.namespace) + "]";
    }

    /**
     * The keys in {@link KeyId} order, read lazily: the index is listed a batch at a time from
     * the cursor on, and a record is read only for entries whose location may match the filter.
     */
    private final class Walk implements Iterator<KeyMetadata> {
        private final KeyFilter filter;
        private final int batch;
        private final Deque<String> names = new ArrayDeque<>();
        private String after;
        private boolean exhausted;
        private KeyMetadata next;

        Walk(KeyFilter filter, KeyId after) {
            this.filter = filter;
            this.after = after == null ? null : Layout.entry(after);
            this.batch = Math.min(Validation.MAX_PAGE_SIZE, Math.max(filter.pageSize() + 1, 100));
        }

        @Override
        public boolean hasNext() {
            while (next == null) {
                if (names.isEmpty()) {
                    if (exhausted) {
                        return false;
                    }
                    fetch();
                    continue;
                }
                next = load(names.poll());
            }
            return true;
        }

        @Override
        public KeyMetadata next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            KeyMetadata out = next;
            next = null;
            return out;
        }

        private void fetch() {
            List<String> page = kv.list("list", namespaces.index(), layout.indexDirectory(), after, batch);
            List<String> fresh = new ArrayList<>(page.size());
            for (String name : page) {
                if (!name.endsWith("/") && (after == null || name.compareTo(after) > 0)) {
                    fresh.add(name);
                }
            }
            Collections.sort(fresh);
            // Fewer than asked: the end. More than asked: an OpenBao without pagination sent all.
            exhausted = fresh.isEmpty() || page.size() != batch;
            names.addAll(fresh);
            if (!fresh.isEmpty()) {
                after = fresh.get(fresh.size() - 1);
            }
        }

        private KeyMetadata load(String name) {
            KeyId id = Layout.parseEntry(name);
            if (id == null) {
                return null;
            }
            try {
                Entry entry = readEntry("list", id);
                if (entry == null || entry.deleting || !Layout.mayMatch(entry.location, filter)) {
                    return null;
                }
                Located found = readRecord("list", id, entry.location);
                return found == null ? null : found.stored.metadata();
            } catch (IntegrityException e) {
                return null; // retrieveKey reports it; a listing goes on
            }
        }
    }
}
