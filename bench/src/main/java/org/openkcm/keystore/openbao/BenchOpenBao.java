package org.openkcm.keystore.openbao;

import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * Benchmarks only: an {@link OpenBaoKeystore} on a real OpenBao dev server (in memory), built
 * through the component's configuration as a {@code .cfg} file would give it. The server is the
 * shared {@link OpenBaoDevServer} of the OpenBao module's test-jar, started from the {@code bao}
 * binary that module's build installs. In this package because the keystore's constructor is
 * package-private.
 */
public final class BenchOpenBao implements AutoCloseable {
    private final OpenBaoKeystore keystore;

    private BenchOpenBao(OpenBaoKeystore keystore) {
        this.keystore = keystore;
    }

    /** Starts (once per JVM) a dev server and connects a keystore to it, under a fresh path prefix. */
    public static BenchOpenBao start() {
        OpenBaoDevServer server = OpenBaoDevServer.start(OpenBaoDevServer.bundleFile().toPath().getParent());
        Map<String, Object> props = new HashMap<>();
        props.put("address", server.address);
        props.put("path.prefix", "bench-" + System.nanoTime());
        props.put("token.source", "file:" + server.tokenFile);
        props.put("keystore.tiers", new String[] {"L2", "L3", "L4"});
        return new BenchOpenBao(new OpenBaoKeystore(OpenBaoSettings.from(
                ComponentConfigs.of(OpenBaoKeystoreComponent.Config.class, props), System::getenv)));
    }

    public Keystore keystore() {
        return keystore;
    }

    @Override
    public void close() {
        keystore.close();
    }
}
