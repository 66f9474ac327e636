package org.openkcm.keystore.plugins;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;

/**
 * The whole Java conformance suite against the Go example plugin (plugins/go/examples/memory),
 * through the host: a fresh plugin process per test, over go-plugin's handshake and mutual TLS.
 */
class GoMemoryPluginConformanceTest extends KeystoreConformanceSuite {
    private PluginSupervisor supervisor;

    @Override
    protected Keystore createKeystore() {
        PluginSettings settings = TestPlugins.settings(TestPlugins.memoryPlugin());
        TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();
        supervisor = new PluginSupervisor(settings, System.getenv(), log);
        return new PluginKeystore(supervisor, log);
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        supervisor.close();
    }
}
