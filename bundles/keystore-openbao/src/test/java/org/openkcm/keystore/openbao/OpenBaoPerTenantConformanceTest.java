package org.openkcm.keystore.openbao;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * The whole conformance suite against a real {@code bao server -dev} in
 * {@code namespace.mode = per-tenant}: tenant keys in {@code ct/<tenant id>}, service and node
 * keys and the index in {@code ct-services}; none of these namespaces exists before the first
 * test, so the first stores create them. A fresh path prefix (an empty keystore) per test.
 */
class OpenBaoPerTenantConformanceTest extends KeystoreConformanceSuite {
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static OpenBaoDevServer server;

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

    @Override
    protected Keystore createKeystore() {
        Map<String, Object> props = TestConfig.forServer(server, "per-tenant-" + PREFIXES.incrementAndGet());
        props.put("namespace.mode", "per-tenant");
        props.put("namespace.base", "ct");
        props.put("namespace.services", "ct-services");
        return TestConfig.open(props);
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        ((OpenBaoKeystore) keystore).close();
    }
}
