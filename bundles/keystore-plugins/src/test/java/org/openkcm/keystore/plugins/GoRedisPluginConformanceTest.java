package org.openkcm.keystore.plugins;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.plugins.testing.RedisServer;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;

/**
 * The whole Java conformance suite against the Redis plugin (plugins/go/redis), through the host,
 * on a real redis-server: a fresh plugin process per test, under a prefix of its own.
 */
class GoRedisPluginConformanceTest extends KeystoreConformanceSuite {
    private static RedisServer redis;
    private PluginSupervisor supervisor;

    @BeforeAll
    static void startRedis() {
        redis = RedisServer.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @Override
    protected Keystore createKeystore() {
        PluginSettings settings = RedisPlugins.settings(redis, Map.of());
        TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();
        supervisor = new PluginSupervisor(settings, Map.of(), log);
        return new PluginKeystore(supervisor, log);
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        supervisor.close();
    }
}
