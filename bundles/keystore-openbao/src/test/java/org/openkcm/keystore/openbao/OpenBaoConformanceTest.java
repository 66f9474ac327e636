package org.openkcm.keystore.openbao;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * The whole conformance suite against a real {@code bao server -dev}: one server for the class,
 * a fresh path prefix (hence an empty keystore) for each test.
 */
class OpenBaoConformanceTest extends KeystoreConformanceSuite {
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
        return TestConfig.open(TestConfig.forServer(server, "conformance-" + PREFIXES.incrementAndGet()));
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        ((OpenBaoKeystore) keystore).close();
    }
}
