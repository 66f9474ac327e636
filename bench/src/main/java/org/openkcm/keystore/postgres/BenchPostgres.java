package org.openkcm.keystore.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.postgres.testing.PostgresServer;
import org.openkcm.keystore.sdk.ComponentConfigs;
import org.postgresql.osgi.PGDataSourceFactory;

/**
 * Benchmarks only: a real PostgreSQL server (the launcher of the backend's tests), a
 * {@link PostgresKeystore} on it built through the component's configuration and pgjdbc's
 * DataSourceFactory, and, for the baseline, a HikariCP pool of the same size on the same server
 * with a plain table of the same columns. In this package because the keystore's factory method
 * is package-private.
 */
public final class BenchPostgres implements AutoCloseable {
    /** The baseline table: the key table's columns, plain. */
    public static final String PLAIN_TABLE = "bench_plain.keystore_key";

    private final PostgresServer server;
    private final PostgresKeystore keystore;
    private final HikariDataSource plain;

    private BenchPostgres(PostgresServer server, PostgresKeystore keystore, HikariDataSource plain) {
        this.server = server;
        this.keystore = keystore;
        this.plain = plain;
    }

    public static BenchPostgres start() {
        PostgresServer server = PostgresServer.start();
        Path passwordFile;
        try {
            passwordFile = Files.createTempFile("bench-pg", ".pw");
            passwordFile.toFile().deleteOnExit();
            Files.writeString(passwordFile, PostgresServer.PASSWORD);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> props = new HashMap<>();
        props.put("url", server.url());
        props.put("user", PostgresServer.USER);
        props.put("password.ref", "file:" + passwordFile);
        props.put("schema", "bench");
        props.put("pool.size", 4);
        PostgresKeystore keystore = PostgresKeystore.open(new PGDataSourceFactory(), PostgresSettings.from(
                ComponentConfigs.of(PostgresKeystoreComponent.Config.class, props), System::getenv));

        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server.url());
        config.setUsername(PostgresServer.USER);
        config.setPassword(PostgresServer.PASSWORD);
        config.setMaximumPoolSize(4);
        HikariDataSource plain = new HikariDataSource(config);
        try (Connection c = plain.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA bench_plain");
            s.execute("CREATE TABLE " + PLAIN_TABLE + " (name text COLLATE \"C\" NOT NULL, version integer NOT NULL,"
                    + " sealed bytea NOT NULL, key_type text NOT NULL, algorithm text NOT NULL, key_size integer NOT NULL,"
                    + " status text NOT NULL, expiry_ms bigint, owner_kind text NOT NULL, owner_id text NOT NULL,"
                    + " region text, parent_name text, parent_version integer, tags jsonb NOT NULL,"
                    + " created_ms bigint NOT NULL, updated_ms bigint NOT NULL, revision bigint NOT NULL,"
                    + " lifecycle_mac text, tag_keys text[] NOT NULL, tag_values text[] NOT NULL,"
                    + " PRIMARY KEY (name, version))");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return new BenchPostgres(server, keystore, plain);
    }

    public Keystore keystore() {
        return keystore;
    }

    /** The baseline's pool. */
    public DataSource plain() {
        return plain;
    }

    @Override
    public void close() {
        keystore.close();
        plain.close();
        server.close();
    }
}
