package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * A persistent (Raft) server is killed in the middle of a run of stores and reads, started
 * again sealed, and unsealed. Callers get {@link UnavailableException} while it is away (within
 * a bounded time: no hang, and never a wrong answer); afterwards every acknowledged key reads
 * back intact and new stores succeed.
 */
class RestartTest {
    private OpenBaoDevServer server;

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void acknowledgedKeysSurviveARestartAndCallersSeeUnavailableMeanwhile() throws Exception {
        server = OpenBaoDevServer.persistent();
        Map<String, Object> props = TestConfig.forServer(server, "restart");
        props.put("connect.timeout.seconds", 1);
        props.put("read.timeout.seconds", 2);
        // Budget: 3 attempts of at most connect + read each, plus backoff: one call ends within ~10 s.
        Duration bound = Duration.ofSeconds(15);
        Map<KeyId, StoredKey> acknowledged = new ConcurrentHashMap<>();
        List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger unavailable = new AtomicInteger();
        AtomicLong slowest = new AtomicLong();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger counter = new AtomicInteger();

        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            ExecutorService workers = Executors.newFixedThreadPool(3);
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                futures.add(workers.submit(() -> {
                    while (running.get()) {
                        int n = counter.incrementAndGet();
                        KeyId id = KeyId.of("key-" + n, 1);
                        StoredKey key = StoredKey.of(sealed(n), minimal(id).build());
                        long start = System.nanoTime();
                        try {
                            keystore.storeKey(id, key.sealed(), key.metadata());
                            acknowledged.put(id, key);
                        } catch (UnavailableException e) {
                            unavailable.incrementAndGet();
                        } catch (RuntimeException e) {
                            wrong.add("store " + id + ": " + e);
                        }
                        record(slowest, start);
                        List<KeyId> known = new ArrayList<>(acknowledged.keySet());
                        if (!known.isEmpty()) {
                            KeyId pick = known.get(ThreadLocalRandom.current().nextInt(known.size()));
                            start = System.nanoTime();
                            try {
                                StoredKey back = keystore.retrieveKey(pick);
                                if (!back.equals(acknowledged.get(pick))) {
                                    wrong.add("retrieve " + pick + " gave another record");
                                }
                            } catch (UnavailableException e) {
                                unavailable.incrementAndGet();
                            } catch (RuntimeException e) {
                                wrong.add("retrieve " + pick + ": " + e);
                            }
                            record(slowest, start);
                        }
                        OpenBaoDevServer.pause(20);
                    }
                    return null;
                }));
            }

            OpenBaoDevServer.pause(1500);
            int beforeCrash = acknowledged.size();
            server.kill(); // SIGKILL: a crash, not a clean shutdown
            OpenBaoDevServer.pause(2500);
            KeystoreHealth down = keystore.health();
            assertFalse(down.isUp());
            assertTrue(down.reason().orElseThrow().contains("unreachable"), down::toString);
            int unavailableWhileDown = unavailable.get();

            server.startAgain(); // comes back sealed
            KeystoreHealth sealedHealth = keystore.health();
            assertFalse(sealedHealth.isUp());
            assertTrue(sealedHealth.reason().orElseThrow().contains("sealed"), sealedHealth::toString);
            OpenBaoDevServer.pause(1000);
            server.unseal();

            // Work resumes: wait (bounded) for new acknowledgements after the unseal.
            int atUnseal = acknowledged.size();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (acknowledged.size() < atUnseal + 20 && System.nanoTime() < deadline) {
                OpenBaoDevServer.pause(100);
            }
            running.set(false);
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            workers.shutdown();

            assertTrue(wrong.isEmpty(), "wrong answers or unexpected failures: " + wrong);
            assertTrue(beforeCrash > 0, "keys were acknowledged before the crash");
            assertTrue(unavailableWhileDown > 0, "calls failed as unavailable while the server was away");
            assertTrue(acknowledged.size() >= atUnseal + 20, "stores resumed after the unseal");
            assertTrue(slowest.get() < bound.toNanos(),
                    "the slowest call took " + Duration.ofNanos(slowest.get()) + ": calls must not hang");

            // Every acknowledged key is intact, through a fresh instance too (nothing came from memory).
            for (Map.Entry<KeyId, StoredKey> e : acknowledged.entrySet()) {
                assertEquals(e.getValue(), keystore.retrieveKey(e.getKey()));
            }
            try (OpenBaoKeystore fresh = TestConfig.open(props)) {
                for (Map.Entry<KeyId, StoredKey> e : acknowledged.entrySet()) {
                    assertEquals(e.getValue(), fresh.retrieveKey(e.getKey()));
                }
                KeyId after = KeyId.of("after-restart", 1);
                fresh.storeKey(after, sealed(7), minimal(after).build());
                assertEquals(sealed(7), fresh.retrieveKey(after).sealed());
                assertTrue(fresh.health().isUp(), () -> fresh.health().toString());
            }
            // A store that was not acknowledged is either complete or absent: never half-readable.
            for (int n = 1; n <= counter.get(); n++) {
                KeyId id = KeyId.of("key-" + n, 1);
                if (!acknowledged.containsKey(id)) {
                    try {
                        assertEquals(sealed(n), keystore.retrieveKey(id).sealed());
                    } catch (KeyNotFoundException absent) {
                        // fine: it never completed
                    }
                }
            }
        }
    }

    private static void record(AtomicLong slowest, long start) {
        long took = System.nanoTime() - start;
        slowest.accumulateAndGet(took, Math::max);
    }
}
