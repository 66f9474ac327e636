package org.openkcm.keystore.sdk;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;

/**
 * Wraps any backend with switches that inject failures and latency, for failure tests (the
 * pattern of OpenBao's in-memory physical backend). A fault either fails a call before it reaches
 * the backend, or lets the backend do its work and then fails the call, as a lost acknowledgement
 * does. Switches may be flipped from any thread while calls run.
 */
public final class FaultyKeystore implements Keystore {

    /** The operations of {@link Keystore}, each of which can be switched separately. */
    public enum Operation { STORE, RETRIEVE, UPDATE, REWRAP, DELETE, LIST, HEALTH }

    private final Keystore delegate;
    private final Map<Operation, Fault> faults = new ConcurrentHashMap<>();
    private final Map<Operation, Duration> delays = new ConcurrentHashMap<>();
    private final Map<Operation, AtomicLong> calls = new EnumMap<>(Operation.class);
    private volatile String downReason;

    public FaultyKeystore(Keystore delegate) {
        this.delegate = delegate;
        for (Operation op : Operation.values()) {
            calls.put(op, new AtomicLong());
        }
    }

    public Keystore delegate() {
        return delegate;
    }

    /** The next {@code times} calls of {@code op} fail with the exception, without reaching the backend. */
    public FaultyKeystore failBefore(Operation op, int times, Supplier<? extends KeystoreException> failure) {
        faults.put(op, new Fault(false, times, failure));
        return this;
    }

    /** The next {@code times} calls of {@code op} reach the backend, which does the work; then the call fails. */
    public FaultyKeystore failAfter(Operation op, int times, Supplier<? extends KeystoreException> failure) {
        faults.put(op, new Fault(true, times, failure));
        return this;
    }

    /** Every call of {@code op} waits this long before it reaches the backend. */
    public FaultyKeystore delay(Operation op, Duration delay) {
        delays.put(op, delay);
        return this;
    }

    /** Every call fails with {@link UnavailableException} and health reports down, until {@link #reset()}. */
    public FaultyKeystore down(String reason) {
        downReason = reason;
        return this;
    }

    /** Removes every fault and delay. */
    public void reset() {
        faults.clear();
        delays.clear();
        downReason = null;
    }

    /** How many calls of {@code op} were made, faulty or not. */
    public long calls(Operation op) {
        return calls.get(op).get();
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        run(Operation.STORE, () -> {
            delegate.storeKey(id, sealed, metadata);
            return null;
        });
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        return run(Operation.RETRIEVE, () -> delegate.retrieveKey(id));
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        return run(Operation.UPDATE, () -> delegate.updateKeyMetadata(id, metadata));
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        run(Operation.REWRAP, () -> {
            delegate.rewrapKey(id, sealed, expectedRevision);
            return null;
        });
    }

    @Override
    public boolean deleteKey(KeyId id) {
        return run(Operation.DELETE, () -> delegate.deleteKey(id));
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        return run(Operation.LIST, () -> delegate.listKeys(filter));
    }

    @Override
    public KeystoreHealth health() {
        calls.get(Operation.HEALTH).incrementAndGet();
        String reason = downReason;
        if (reason != null) {
            return KeystoreHealth.down(Duration.ZERO, reason);
        }
        pause(Operation.HEALTH);
        return delegate.health();
    }

    private <T> T run(Operation op, Supplier<T> call) {
        calls.get(op).incrementAndGet();
        String reason = downReason;
        if (reason != null) {
            throw new UnavailableException("injected: " + reason);
        }
        pause(op);
        Fault fault = faults.get(op);
        boolean fire = fault != null && fault.take();
        if (fire && !fault.afterWork) {
            throw fault.failure.get();
        }
        T result = call.get();
        if (fire) {
            throw fault.failure.get();
        }
        return result;
    }

    private void pause(Operation op) {
        Duration delay = delays.get(op);
        if (delay == null) {
            return;
        }
        try {
            Thread.sleep(delay.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted during injected latency");
        }
    }

    private static final class Fault {
        final boolean afterWork;
        final AtomicInteger remaining;
        final Supplier<? extends KeystoreException> failure;

        Fault(boolean afterWork, int times, Supplier<? extends KeystoreException> failure) {
            this.afterWork = afterWork;
            this.remaining = new AtomicInteger(times);
            this.failure = failure;
        }

        boolean take() {
            return remaining.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
        }
    }
}
