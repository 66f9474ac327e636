package org.openkcm.keystore.core.routing;

import java.time.Duration;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

import org.openkcm.keystore.api.KeyId;

/**
 * The keys this runtime recently looked for in every backend and found nowhere, each remembered
 * for a window: while placement is shared, a read of such a key within the window is answered
 * "not found" without asking every backend again. Bounded (the oldest are dropped first); a key
 * stored or migrated through this runtime is forgotten at once. A window of zero remembers nothing.
 */
final class RecentAbsences {
    static final Duration DEFAULT_WINDOW = Duration.ofMillis(1000);
    static final int MAX_ENTRIES = 10_000;

    private final Cache<KeyId, Boolean> absent;

    RecentAbsences(Duration window) {
        this(window, Ticker.systemTicker());
    }

    /** Tests: a clock of their own. */
    RecentAbsences(Duration window, Ticker ticker) {
        this.absent = window.isZero() || window.isNegative() ? null : Caffeine.newBuilder()
                .maximumSize(MAX_ENTRIES).expireAfterWrite(window).ticker(ticker).executor(Runnable::run).build();
    }

    /** Whether the key was found nowhere within the window. */
    boolean contains(KeyId id) {
        return absent != null && absent.getIfPresent(id) != null;
    }

    /** The key was looked for in every backend and found nowhere, now. */
    void remember(KeyId id) {
        if (absent != null) {
            absent.put(id, Boolean.TRUE);
        }
    }

    /** The key was stored, or placed, through this runtime. */
    void forget(KeyId id) {
        if (absent != null) {
            absent.invalidate(id);
        }
    }
}
