package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * Failures injected between the backend and a real server: transient answers (5xx, 429, 412)
 * are retried within the budget; an exhausted budget is {@link UnavailableException} with
 * nothing stored; an answer lost after OpenBao applied the write is retried idempotently; 403
 * with a valid token is refused by policy; a server that stalls or is not there bounds every
 * call and the health probe.
 */
class ResilienceTest {
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static OpenBaoDevServer server;
    private FaultProxy proxy;
    private String prefix;

    @BeforeAll
    static void startServer() {
        server = OpenBaoDevServer.dev();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void startProxy() throws Exception {
        proxy = new FaultProxy(server.address);
        prefix = "resilience-" + PREFIXES.incrementAndGet();
    }

    @AfterEach
    void stopProxy() {
        proxy.close();
    }

    private OpenBaoKeystore keystore(int attempts) {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", proxy.address());
        props.put("retry.max.attempts", attempts);
        return TestConfig.open(props);
    }

    private Predicate<String> data(String method) {
        return line -> line.startsWith(method + " /v1/secret/data/" + prefix + "/");
    }

    @Test
    void transientAnswersAreRetried() {
        try (OpenBaoKeystore keystore = keystore(4)) {
            proxy.inject(503, data("POST"));
            proxy.inject(429, data("POST"));
            proxy.inject(412, data("POST"));
            KeyId id = KeyId.of("retried", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            assertEquals(0, proxy.pendingFaults(), "every injected failure was met and retried");

            proxy.inject(500, data("GET"));
            proxy.inject(502, data("GET"));
            assertEquals(sealed(1), keystore.retrieveKey(id).sealed());
        }
    }

    @Test
    void anExhaustedBudgetIsUnavailableAndNothingIsStored() {
        try (OpenBaoKeystore keystore = keystore(3)) {
            for (int i = 0; i < 3; i++) {
                proxy.inject(503, data("POST"));
            }
            KeyId id = KeyId.of("exhausted", 1);
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> keystore.storeKey(id, sealed(2), minimal(id).build()));
            assertTrue(e.getMessage().contains("after 3 attempts") && e.getMessage().contains("HTTP 503"),
                    e.getMessage());
            assertEquals(id, e.keyId().orElseThrow());
            assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(id));
        }
    }

    @Test
    void aLostAnswerAfterTheWriteWasAppliedIsRetriedIdempotently() {
        try (OpenBaoKeystore keystore = keystore(4)) {
            KeyId id = KeyId.of("lost-answers", 1);
            KeyMetadata metadata = minimal(id).build();
            // The index claim and the record are written, but their answers are lost.
            proxy.applyThenFail(502, data("POST"));
            proxy.applyThenFail(504, data("POST"));
            keystore.storeKey(id, sealed(3), metadata);
            assertEquals(0, proxy.pendingFaults());
            assertEquals(StoredKey.of(sealed(3), metadata), keystore.retrieveKey(id));

            // The same for a compare-and-set update: not mistaken for a conflict.
            KeyMetadata next = metadata.toBuilder().status(KeyStatus.DEPRECATED).revision(2).build();
            proxy.applyThenFail(502, data("POST"));
            assertEquals(next, keystore.updateKeyMetadata(id, next));
            assertEquals(next, keystore.retrieveKey(id).metadata());

            // And for a rewrap.
            proxy.applyThenFail(500, data("POST"));
            keystore.rewrapKey(id, sealed(4), 2);
            assertEquals(StoredKey.of(sealed(4), next), keystore.retrieveKey(id));
        }
    }

    @Test
    void aRefusalWithAValidTokenIsRefusedByPolicy() {
        try (OpenBaoKeystore keystore = keystore(4)) {
            KeyId id = KeyId.of("refused", 1);
            keystore.storeKey(id, sealed(5), minimal(id).build());
            proxy.inject(403, data("GET"));
            PolicyRefusedException e = assertThrows(PolicyRefusedException.class, () -> keystore.retrieveKey(id));
            assertTrue(e.getMessage().contains("HTTP 403"), e.getMessage());
            assertTrue(proxy.seen.stream().anyMatch(line -> line.contains("auth/token/lookup-self")),
                    "the token was checked before blaming the policy");
            assertEquals(sealed(5), keystore.retrieveKey(id).sealed());
        }
    }

    @Test
    void aStalledServerBoundsCallsAndHealth() {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", proxy.address());
        props.put("read.timeout.seconds", 1);
        props.put("retry.max.attempts", 2);
        props.put("health.timeout.ms", 1000L);
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            for (int i = 0; i < 4; i++) {
                proxy.stall(line -> true);
            }
            KeyId id = KeyId.of("stalled", 1);
            UnavailableException e = assertTimeoutPreemptively(Duration.ofSeconds(8),
                    () -> assertThrows(UnavailableException.class, () -> keystore.retrieveKey(id)));
            assertTrue(e.getMessage().contains("no answer within the timeout"), e.getMessage());

            KeystoreHealth health = assertTimeoutPreemptively(KeystoreHealth.MAX_PROBE_TIME, keystore::health);
            assertFalse(health.isUp());
            assertTrue(health.reason().orElseThrow().contains("did not answer within 1000 ms"), health::toString);
        }
    }

    @Test
    void noServerIsUnavailableAndDown() {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", "http://127.0.0.1:" + OpenBaoDevServer.freePort());
        try (OpenBaoKeystore keystore = TestConfig.open(props)) {
            KeyId id = KeyId.of("nowhere", 1);
            UnavailableException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertThrows(UnavailableException.class,
                            () -> keystore.storeKey(id, sealed(6), minimal(id).build())));
            assertTrue(e.getMessage().contains("ConnectException"), e.getMessage());
            KeystoreHealth health = keystore.health();
            assertFalse(health.isUp());
            assertTrue(health.reason().orElseThrow().contains("unreachable"), health::toString);
        }
    }

    @Test
    void aStandbyOrUninitialisedNodeIsDown() {
        try (OpenBaoKeystore keystore = keystore(2)) {
            Predicate<String> health = line -> line.startsWith("GET /v1/sys/health");
            proxy.inject(429, health);
            assertTrue(keystore.health().reason().orElseThrow().contains("standby"));
            proxy.inject(501, health);
            assertTrue(keystore.health().reason().orElseThrow().contains("not initialized"));
            proxy.inject(503, health);
            assertTrue(keystore.health().reason().orElseThrow().contains("sealed"));
            assertTrue(keystore.health().isUp());
        }
    }
}
