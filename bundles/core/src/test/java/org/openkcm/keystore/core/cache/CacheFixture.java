package org.openkcm.keystore.core.cache;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.SampleKeys;

import com.github.benmanes.caffeine.cache.Ticker;

/**
 * What the cache tests share: a fault-injecting memory backend, a fake ticker, a loader that reads
 * the backend and an "opener" that stands in for the envelope (the material is the sealed bytes
 * reversed, so that a test can tell what it got), counting its opens.
 */
class CacheFixture {
    static final Instant NOW = SampleKeys.T0.plusSeconds(60);
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final Duration BOUND = Duration.ofMillis(CacheSettings.DEFAULT_REVALIDATE_MILLIS);

    final FaultyKeystore backend = new FaultyKeystore(new MemoryKeystore());
    final FakeTicker ticker = new FakeTicker();
    final AtomicInteger opens = new AtomicInteger();
    final Function<KeyId, CachedRecord> loader = id -> new CachedRecord("memory", backend.retrieveKey(id));
    final KeyCache.Opener opener = stored -> {
        opens.incrementAndGet();
        return material(stored.sealed());
    };

    static final class FakeTicker implements Ticker {
        final AtomicLong nanos = new AtomicLong(1);

        @Override
        public long read() {
            return nanos.get();
        }

        void advance(Duration d) {
            nanos.addAndGet(d.toNanos());
        }
    }

    static byte[] material(SealedKey sealed) {
        byte[] b = sealed.bytes();
        byte[] out = new byte[32];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (b[b.length - 1 - i] | 1); // never all zeros
        }
        return out;
    }

    static boolean zeros(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    KeyId store(String name, int version, KeyType type) {
        KeyId id = KeyId.of(name, version);
        backend.storeKey(id, SampleKeys.sealed(64, name.hashCode() * 31L + version),
                SampleKeys.minimal(id).type(type).build());
        return id;
    }

    /** Retires the key through the backend (counts as a backend read and update). */
    void retire(KeyId id) {
        KeyMetadata m = backend.retrieveKey(id).metadata();
        backend.updateKeyMetadata(id, m.toBuilder().status(KeyStatus.RETIRED).revision(m.revision() + 1).build());
    }

    /** Another runtime changes the key's status at the shared backend: no cache here is told, no call counted. */
    void statusElsewhere(KeyId id, KeyStatus status) {
        KeyMetadata m = backend.delegate().retrieveKey(id).metadata();
        backend.delegate().updateKeyMetadata(id, m.toBuilder().status(status).revision(m.revision() + 1).build());
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
