package org.openkcm.keystore.openbao;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The retry budget of one call: at most {@code maxAttempts} attempts (the first included), and
 * between them an exponential backoff, doubled per attempt up to {@code maxBackoff}, of which a
 * random part is waited ("equal jitter": between half and all of it), so that many callers
 * failing together do not retry together.
 */
final class RetryPolicy {
    final int maxAttempts;
    final Duration initialBackoff;
    final Duration maxBackoff;

    RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
        this.maxAttempts = maxAttempts;
        this.initialBackoff = initialBackoff;
        this.maxBackoff = maxBackoff;
    }

    /** The ceiling of the wait after the given failed attempt (1 for the first). */
    Duration ceiling(int failedAttempt) {
        long initial = initialBackoff.toMillis();
        long max = maxBackoff.toMillis();
        int doublings = Math.min(Math.max(failedAttempt - 1, 0), 30);
        long ceiling = initial << doublings;
        return Duration.ofMillis(ceiling <= 0 || ceiling > max ? max : ceiling);
    }

    /** The wait after the given failed attempt: between half and all of {@link #ceiling}. */
    Duration backoff(int failedAttempt) {
        long ceiling = ceiling(failedAttempt).toMillis();
        long half = ceiling / 2;
        return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(ceiling - half + 1));
    }

    @Override
    public String toString() {
        return maxAttempts + " attempts, backoff " + initialBackoff.toMillis() + ".." + maxBackoff.toMillis() + " ms";
    }
}
