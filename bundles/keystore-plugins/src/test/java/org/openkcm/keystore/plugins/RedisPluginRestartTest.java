package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.plugins.testing.RedisServer;

/**
 * Redis killed and restarted while callers store and read through the host: while it is down
 * every call fails as unavailable (no other error, no hang) and health is DOWN; then service
 * resumes by itself, and every key acknowledged before, during or after is readable.
 */
class RedisPluginRestartTest {
    private static final int CALLERS = 4;

    @Test
    void redisRestartedUnderLoadIsUnavailableThenServes() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            PluginSettings settings = RedisPlugins.settings(redis, Map.of("timeout", "300ms"));
            TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();
            try (PluginSupervisor supervisor = new PluginSupervisor(settings, Map.of(), log)) {
                PluginKeystore keystore = new PluginKeystore(supervisor, log);
                Set<KeyId> acknowledged = ConcurrentHashMap.newKeySet();
                AtomicInteger unavailable = new AtomicInteger();
                List<Throwable> unexpected = new CopyOnWriteArrayList<>();
                AtomicBoolean running = new AtomicBoolean(true);
                AtomicInteger names = new AtomicInteger();
                ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
                for (int i = 0; i < CALLERS; i++) {
                    callers.submit(() -> {
                        while (running.get()) {
                            int n = names.incrementAndGet();
                            KeyId id = KeyId.of("load-" + n, 1);
                            try {
                                keystore.storeKey(id, sealed(32, n), minimal(id).build());
                                acknowledged.add(id);
                                keystore.retrieveKey(id);
                            } catch (UnavailableException e) {
                                unavailable.incrementAndGet();
                                sleep(5);
                            } catch (Throwable e) {
                                unexpected.add(e);
                            }
                        }
                    });
                }
                try {
                    await(() -> acknowledged.size() >= 100);
                    KeyId before = acknowledged.iterator().next();

                    redis.kill();
                    int failuresAtKill = unavailable.get();
                    await(() -> unavailable.get() >= failuresAtKill + 20);
                    UnavailableException down = assertThrows(UnavailableException.class, () -> keystore.retrieveKey(before));
                    assertTrue(down.getMessage().contains(redis.address()), down.getMessage());
                    KeystoreHealth health = keystore.health();
                    assertFalse(health.isUp());
                    assertTrue(health.reason().orElse("").contains(redis.address()), health.toString());

                    redis.restart();
                    int acknowledgedAtRestart = acknowledged.size();
                    await(() -> acknowledged.size() >= acknowledgedAtRestart + 100);
                } finally {
                    running.set(false);
                    callers.shutdown();
                    assertTrue(callers.awaitTermination(30, TimeUnit.SECONDS));
                }

                assertEquals(List.of(), unexpected);
                assertTrue(keystore.health().isUp());
                for (KeyId id : acknowledged) {
                    int n = Integer.parseInt(id.name().substring("load-".length()));
                    assertEquals(sealed(32, n), keystore.retrieveKey(id).sealed(), id::toString);
                }
            }
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(10);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
