package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** Exponential backoff, capped, with jitter: waits grow, never pass the cap, and differ between callers. */
class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(6, Duration.ofMillis(100), Duration.ofMillis(1000));

    @Test
    void theCeilingDoublesUpToTheMaximum() {
        assertEquals(100, policy.ceiling(1).toMillis());
        assertEquals(200, policy.ceiling(2).toMillis());
        assertEquals(400, policy.ceiling(3).toMillis());
        assertEquals(800, policy.ceiling(4).toMillis());
        assertEquals(1000, policy.ceiling(5).toMillis());
        assertEquals(1000, policy.ceiling(60).toMillis(), "no overflow on many attempts");
    }

    @Test
    void eachWaitIsBetweenHalfAndAllOfItsCeilingAndVaries() {
        for (int attempt = 1; attempt <= 6; attempt++) {
            long ceiling = policy.ceiling(attempt).toMillis();
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < 200; i++) {
                long wait = policy.backoff(attempt).toMillis();
                assertTrue(wait >= ceiling / 2 && wait <= ceiling, wait + " outside " + ceiling / 2 + ".." + ceiling);
                seen.add(wait);
            }
            assertTrue(seen.size() > 10, "jitter: callers failing together do not retry together");
        }
    }
}
