package org.openkcm.keystore.postgres;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.openkcm.keystore.postgres.PostgresKeystoreComponent.Config;
import org.openkcm.keystore.postgres.testing.PostgresServer;
import org.openkcm.keystore.sdk.ComponentConfigs;
import org.postgresql.osgi.PGDataSourceFactory;

/**
 * The server the tests of this module share (one per test JVM, stopped when it exits), and
 * configurations for it as a {@code .cfg} file would give them, each in a fresh schema. Keystores
 * are opened through pgjdbc's own {@code DataSourceFactory}, the one its bundle registers.
 */
final class TestDatabase {
    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    private static PostgresServer server;

    private TestDatabase() {
    }

    static synchronized PostgresServer server() {
        if (server == null) {
            PostgresServer started = PostgresServer.start();
            Runtime.getRuntime().addShutdownHook(new Thread(started::close));
            server = started;
        }
        return server;
    }

    static String freshSchema() {
        return "t" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet();
    }

    /** A configuration for the shared server in a fresh schema, the password from the environment. */
    static Map<String, Object> properties() {
        return properties(server(), freshSchema());
    }

    static Map<String, Object> properties(PostgresServer on, String schema) {
        Map<String, Object> props = new HashMap<>();
        props.put("url", on.url());
        props.put("user", PostgresServer.USER);
        props.put("password.ref", "env:OPENKCM_TEST_PG_PASSWORD");
        props.put("schema", schema);
        props.put("pool.size", 8);
        props.put("connect.timeout.seconds", 2);
        props.put("statement.timeout.seconds", 5);
        return props;
    }

    static Config config(Map<String, ?> properties) {
        return ComponentConfigs.of(Config.class, properties);
    }

    static PostgresSettings settings(Map<String, ?> properties) {
        return PostgresSettings.from(config(properties), System::getenv);
    }

    static PostgresKeystore open(Map<String, ?> properties) {
        return PostgresKeystore.open(new PGDataSourceFactory(), settings(properties));
    }
}
