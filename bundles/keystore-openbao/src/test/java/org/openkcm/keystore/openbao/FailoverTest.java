package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * {@code failover.addresses}: the nodes of one cluster, tried in turn. Two proxies in front of one
 * real server stand for two nodes: a node that is unreachable, sealed, leaderless (500) or that
 * redirects (307, a standby that could not forward) is left for the next one, within the same
 * call's retry budget; a healthy node is kept; a bad list is refused naming the property.
 */
class FailoverTest {
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static OpenBaoDevServer server;
    private FaultProxy first;
    private FaultProxy second;
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
    void startProxies() throws Exception {
        first = new FaultProxy(server.address);
        second = new FaultProxy(server.address);
        prefix = "failover-" + PREFIXES.incrementAndGet();
    }

    @AfterEach
    void stopProxies() {
        first.close();
        second.close();
    }

    private OpenBaoKeystore keystore(String address, String... failover) {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", address);
        props.put("failover.addresses", failover);
        props.put("retry.max.attempts", 3);
        return TestConfig.open(props);
    }

    private Predicate<String> data(String method) {
        return line -> line.startsWith(method + " /v1/secret/data/" + prefix + "/");
    }

    private static long dataCalls(FaultProxy node) {
        return node.seen.stream().filter(line -> line.contains("/v1/secret/data/")).count();
    }

    @Test
    void anUnreachableFirstNodeIsLeftForTheNext() throws Exception {
        try (OpenBaoKeystore keystore = keystore("http://127.0.0.1:" + closedPort(), second.address())) {
            KeyId id = KeyId.of("unreachable-first", 1);
            keystore.storeKey(id, sealed(1), minimal(id).build());
            assertEquals(sealed(1), keystore.retrieveKey(id).sealed());
            assertTrue(keystore.health().isUp(), "the probe goes to the node in use");
            assertTrue(dataCalls(second) > 0);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {503, 500, 307, 502})
    void aNodeThatCannotServeIsLeftForTheNextWithinOneCall(int status) {
        try (OpenBaoKeystore keystore = keystore(first.address(), second.address())) {
            KeyId id = KeyId.of("left-on-" + status, 1);
            keystore.storeKey(id, sealed(2), minimal(id).build());
            long before = dataCalls(first);
            first.inject(status, data("GET"));
            assertEquals(sealed(2), keystore.retrieveKey(id).sealed(), "served by the second node");
            assertEquals(0, first.pendingFaults());
            assertEquals(before + 1, dataCalls(first), "one failed attempt on the first node, then the second");
            long onSecond = dataCalls(second);
            assertTrue(onSecond > 0);
            keystore.retrieveKey(KeyId.of("left-on-" + status, 1)); // stays on the second node
            assertEquals(before + 1, dataCalls(first));
        }
    }

    @Test
    void aHealthyNodeIsKeptAndAnUnhealthyProbeMovesOn() {
        try (OpenBaoKeystore keystore = keystore(first.address(), second.address())) {
            KeyId id = KeyId.of("kept", 1);
            keystore.storeKey(id, sealed(3), minimal(id).build());
            assertEquals(sealed(3), keystore.retrieveKey(id).sealed());
            assertEquals(0, dataCalls(second), "nothing goes to the second node while the first serves");
            first.inject(503, line -> line.startsWith("GET /v1/sys/health"));
            KeystoreHealth sealedProbe = keystore.health();
            assertFalse(sealedProbe.isUp());
            assertTrue(sealedProbe.reason().orElseThrow().contains(first.address() + " is sealed"),
                    sealedProbe::toString);
            assertTrue(keystore.health().isUp(), "the next probe asked the second node");
            assertTrue(second.seen.stream().anyMatch(line -> line.startsWith("GET /v1/sys/health?standbyok=true")),
                    "in a cluster a standby is healthy: it forwards to the active node " + second.seen);
        }
    }

    @Test
    void aSingleNodeStillRequiresTheActiveNode() {
        try (OpenBaoKeystore keystore = keystore(first.address())) {
            first.inject(429, line -> line.startsWith("GET /v1/sys/health?standbyok=false"));
            assertTrue(keystore.health().reason().orElseThrow().contains("standby"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://127.0.0.1:8300", "http://10.1.2.3:8200", "http://127.0.0.1:8200", "not a url"})
    void aBadFailoverListIsRefusedNamingTheProperty(String other) {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", "http://127.0.0.1:8200");
        props.put("failover.addresses", new String[] {other});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpenBaoSettings.from(TestConfig.of(props), System::getenv));
        assertTrue(e.getMessage().startsWith("failover.addresses"), e.getMessage());
    }

    @Test
    void theAddressesAreKeptInOrder() {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("address", "http://127.0.0.1:8200");
        props.put("failover.addresses", new String[] {"http://127.0.0.2:8200", "http://[::1]:8200"});
        OpenBaoSettings settings = OpenBaoSettings.from(TestConfig.of(props), System::getenv);
        assertEquals(List.of("http://127.0.0.1:8200", "http://127.0.0.2:8200", "http://[::1]:8200"), settings.addresses);
        assertEquals("http://127.0.0.1:8200", settings.address);
    }

    private static int closedPort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
