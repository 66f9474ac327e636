package org.openkcm.keystore.core.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.memory.MemoryKeystore;

/**
 * Wraps a backend (the memory backend by default) and records every byte handed to it and returned
 * by it, across every operation, so tests can assert what the plugin saw. Also a place for tests to
 * act as someone with write access to the backend ({@link #rawPut}), and to simulate a crash.
 */
public class RecordingKeystore implements Keystore {
    /** Thrown to simulate the process dying part-way: not a KeystoreException, so nothing catches it. */
    public static final class SimulatedCrash extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public SimulatedCrash() {
            super("simulated crash");
        }
    }

    private final Keystore delegate;
    private final ByteArrayOutputStream recorded = new ByteArrayOutputStream();
    private final AtomicInteger rewraps = new AtomicInteger();
    private volatile int crashAfterRewraps = -1;
    private volatile Runnable beforeNextRewrap;
    private final Map<KeyId, StoredKey> served = new java.util.concurrent.ConcurrentHashMap<>();

    public RecordingKeystore() {
        this(new MemoryKeystore());
    }

    public RecordingKeystore(Keystore delegate) {
        this.delegate = delegate;
    }

    /** Everything recorded so far. */
    public synchronized byte[] recorded() {
        return recorded.toByteArray();
    }

    /** The next {@code n} rewraps pass, the one after throws {@link SimulatedCrash} before reaching the backend. */
    public void crashAfterRewraps(int n) {
        rewraps.set(0);
        crashAfterRewraps = n;
    }

    /** Runs once, just before the next rewrap reaches the backend (e.g. a concurrent update). */
    public void beforeNextRewrap(Runnable action) {
        beforeNextRewrap = action;
    }

    public int rewrapCalls() {
        return rewraps.get();
    }

    /** Replaces what the backend holds for an id, as someone with write access to storage (no KEK) could. */
    public void rawPut(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        delegate.deleteKey(id);
        delegate.storeKey(id, sealed, metadata);
    }

    /** From now on, a retrieve of {@code id} returns {@code stored}, whatever it is (a lying or broken backend). */
    public void serveInstead(KeyId id, StoredKey stored) {
        served.put(id, stored);
    }

    /** Every stored key, read straight from the backend, for before/after comparisons. */
    public Map<KeyId, StoredKey> snapshot() {
        Map<KeyId, StoredKey> all = new TreeMap<>();
        KeyFilter filter = KeyFilter.builder().pageSize(1000).build();
        String cursor = null;
        do {
            KeyPage page = delegate.listKeys(cursor == null ? filter : filter.withCursor(cursor));
            page.keys().forEach(m -> all.put(m.id(), delegate.retrieveKey(m.id())));
            cursor = page.nextCursor().orElse(null);
        } while (cursor != null);
        return all;
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        record("storeKey", id);
        record(sealed);
        record(metadata);
        delegate.storeKey(id, sealed, metadata);
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        record("retrieveKey", id);
        StoredKey substitute = served.get(id);
        StoredKey stored = substitute != null ? substitute : delegate.retrieveKey(id);
        record(stored.sealed());
        record(stored.metadata());
        return stored;
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        record("updateKeyMetadata", id);
        record(metadata);
        KeyMetadata saved = delegate.updateKeyMetadata(id, metadata);
        record(saved);
        return saved;
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        record("rewrapKey", id);
        record(sealed);
        record(Long.toString(expectedRevision));
        Runnable action = beforeNextRewrap;
        if (action != null) {
            beforeNextRewrap = null;
            action.run();
        }
        if (crashAfterRewraps >= 0 && rewraps.get() >= crashAfterRewraps) {
            crashAfterRewraps = -1;
            throw new SimulatedCrash();
        }
        rewraps.incrementAndGet();
        delegate.rewrapKey(id, sealed, expectedRevision);
    }

    @Override
    public boolean deleteKey(KeyId id) {
        record("deleteKey", id);
        return delegate.deleteKey(id);
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        record("listKeys " + filter);
        KeyPage page = delegate.listKeys(filter);
        page.keys().forEach(this::record);
        page.nextCursor().ifPresent(this::record);
        return page;
    }

    @Override
    public KeystoreHealth health() {
        record("health");
        return delegate.health();
    }

    private void record(String op, KeyId id) {
        record(op + " " + id);
    }

    private synchronized void record(String text) {
        recorded.writeBytes(text.getBytes(StandardCharsets.UTF_8));
        recorded.write('\n');
    }

    private synchronized void record(SealedKey sealed) {
        recorded.writeBytes(sealed.bytes());
        recorded.write('\n');
    }

    private void record(KeyMetadata metadata) {
        record(metadata + " mac=" + metadata.lifecycleMac().orElse(""));
    }
}
