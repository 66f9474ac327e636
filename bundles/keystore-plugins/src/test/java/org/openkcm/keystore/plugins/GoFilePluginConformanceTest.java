package org.openkcm.keystore.plugins;

import java.nio.file.Path;

import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;

/**
 * The whole Java conformance suite against the persistent Go example plugin
 * (plugins/go/examples/file), through the host: a fresh process and folder per test.
 */
class GoFilePluginConformanceTest extends KeystoreConformanceSuite {
    @TempDir
    Path dir;

    private PluginSupervisor supervisor;

    @Override
    protected Keystore createKeystore() {
        PluginSettings settings = TestPlugins.fileSettings(TestPlugins.filePlugin(), dir);
        TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();
        supervisor = new PluginSupervisor(settings, System.getenv(), log);
        return new PluginKeystore(supervisor, log);
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        supervisor.close();
    }
}
