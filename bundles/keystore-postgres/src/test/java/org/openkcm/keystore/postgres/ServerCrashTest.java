package org.openkcm.keystore.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.postgres.testing.PostgresServer;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * The server is killed with {@code kill -9} on the postmaster while four threads store and read,
 * then started again: meanwhile every call fails as {@link UnavailableException} (and nothing
 * else), the keystore serves again without being reopened, and every store that was acknowledged
 * is there with its exact record. Stores that failed may or may not have reached the server (a lost
 * acknowledgement); retrying each of them identically succeeds.
 */
class ServerCrashTest {
    private static final int WRITERS = 4;

    private PostgresServer server;
    private PostgresKeystore keystore;

    @BeforeEach
    void start() {
        server = PostgresServer.start();
        Map<String, Object> props = TestDatabase.properties(server, TestDatabase.freshSchema());
        props.put("connect.timeout.seconds", 1);
        props.put("health.timeout.ms", 1500L);
        keystore = TestDatabase.open(props);
    }

    @AfterEach
    void stop() {
        keystore.close();
        server.close();
    }

    @Test
    void killedMidLoadAndRestartedLosesNoAcknowledgedKey() throws Exception {
        Set<KeyId> acknowledged = ConcurrentHashMap.newKeySet();
        Set<KeyId> failedStores = ConcurrentHashMap.newKeySet();
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        AtomicInteger unavailableWhileDown = new AtomicInteger();
        AtomicInteger acksAfterRestart = new AtomicInteger();
        AtomicBoolean down = new AtomicBoolean();
        AtomicBoolean restarted = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();

        ExecutorService threads = Executors.newFixedThreadPool(WRITERS);
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < WRITERS; t++) {
            int thread = t;
            running.add(threads.submit(() -> {
                for (int n = 0; !stop.get(); n++) {
                    KeyId id = KeyId.of("w" + thread + "-" + n, 1);
                    try {
                        keystore.storeKey(id, SampleKeys.sealed(128, seed(id)), metadata(id));
                        acknowledged.add(id);
                        if (restarted.get()) {
                            acksAfterRestart.incrementAndGet();
                        }
                        KeyId earlier = KeyId.of("w" + thread + "-" + (n / 2), 1);
                        if (acknowledged.contains(earlier)) {
                            assertEquals(SampleKeys.sealed(128, seed(earlier)), keystore.retrieveKey(earlier).sealed());
                        }
                    } catch (UnavailableException e) {
                        failedStores.add(id);
                        if (down.get() && !restarted.get()) {
                            unavailableWhileDown.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        unexpected.add(e);
                    }
                }
            }));
        }

        await(() -> acknowledged.size() >= 200, "200 acknowledged stores before the kill");
        down.set(true);
        server.kill();
        assertFalse(server.isRunning());
        int acknowledgedAtKill = acknowledged.size();
        await(() -> unavailableWhileDown.get() >= 2 * WRITERS, "calls failing as unavailable while the server is down");
        KeystoreHealth whileDown = keystore.health();
        assertFalse(whileDown.isUp(), whileDown.toString());

        server.restart();
        restarted.set(true);
        await(() -> acksAfterRestart.get() >= 100, "100 acknowledged stores after the restart");
        stop.set(true);
        for (Future<?> f : running) {
            f.get(30, TimeUnit.SECONDS);
        }
        threads.shutdown();

        assertTrue(unexpected.isEmpty(), "only UnavailableException while down, got: " + unexpected);
        assertTrue(keystore.health().isUp());
        for (KeyId id : acknowledged) {
            assertEquals(SampleKeys.sealed(128, seed(id)), keystore.retrieveKey(id).sealed(), "lost: " + id);
            assertEquals(metadata(id), keystore.retrieveKey(id).metadata());
        }
        for (KeyId id : failedStores) {
            keystore.storeKey(id, SampleKeys.sealed(128, seed(id)), metadata(id)); // identical retry
            assertEquals(SampleKeys.sealed(128, seed(id)), keystore.retrieveKey(id).sealed());
        }
        assertTrue(acknowledged.size() > acknowledgedAtKill);
    }

    private static KeyMetadata metadata(KeyId id) {
        return SampleKeys.minimal(id).tags(Map.of("load", "crash")).build();
    }

    private static long seed(KeyId id) {
        return id.name().hashCode();
    }

    private void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "\n" + server.log());
            }
            Thread.sleep(20);
        }
    }
}
