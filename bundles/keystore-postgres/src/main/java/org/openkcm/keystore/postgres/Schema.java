package org.openkcm.keystore.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The database schema of one backend instance, created and migrated by the bundle itself.
 * <p>
 * The schema holds a table {@code keystore_schema_version} (one row per migration applied) and the
 * key table. {@link #migrate} applies the migrations that are missing, in order, each in its own
 * transaction together with its row in the version table, so a migration is either applied and
 * recorded or not at all. Every transaction first takes a transaction-scoped advisory lock derived
 * from the schema name: instances starting together on one database wait for each other, and the
 * second finds the work done. Running it again changes nothing.
 */
final class Schema {
    /** One versioned step of DDL: statements run in order, in one transaction. */
    record Migration(int version, String description, List<String> statements) {
    }

    /** The key table; {@code %s} is the quoted schema name. */
    static final String KEY_TABLE = "%s.keystore_key";

    /**
     * Every migration, oldest first; never edit one that has shipped, add the next.
     * {@code %1$s} is the quoted schema name.
     */
    static final List<Migration> MIGRATIONS = List.of(
            new Migration(1, "key table", List.of(
                    "CREATE TABLE %1$s.keystore_key ("
                            + " name text COLLATE \"C\" NOT NULL,"
                            + " version integer NOT NULL CHECK (version > 0),"
                            + " sealed bytea NOT NULL,"
                            + " key_type text NOT NULL,"
                            + " algorithm text NOT NULL,"
                            + " key_size integer NOT NULL,"
                            + " status text NOT NULL,"
                            + " expiry_ms bigint,"
                            + " owner_kind text NOT NULL,"
                            + " owner_id text COLLATE \"C\" NOT NULL,"
                            + " region text,"
                            + " parent_name text,"
                            + " parent_version integer,"
                            + " tags jsonb NOT NULL DEFAULT '{}'::jsonb,"
                            + " created_ms bigint NOT NULL,"
                            + " updated_ms bigint NOT NULL,"
                            + " revision bigint NOT NULL,"
                            + " lifecycle_mac text,"
                            + " PRIMARY KEY (name, version))")),
            new Migration(2, "owner index for per-owner listing, tag index", List.of(
                    "CREATE INDEX keystore_key_owner ON %1$s.keystore_key (owner_kind, owner_id, name, version)",
                    "CREATE INDEX keystore_key_tags ON %1$s.keystore_key USING gin (tags jsonb_path_ops)",
                    "ALTER TABLE %1$s.keystore_key ADD CONSTRAINT keystore_key_owner_kind"
                            + " CHECK (owner_kind IN ('TENANT', 'SERVICE', 'NODE'))")),
            new Migration(3, "tag keys and values as arrays beside the jsonb, read without unnesting", List.of(
                    "ALTER TABLE %1$s.keystore_key ADD COLUMN tag_keys text[] NOT NULL DEFAULT '{}',"
                            + " ADD COLUMN tag_values text[] NOT NULL DEFAULT '{}'",
                    "UPDATE %1$s.keystore_key SET"
                            + " tag_keys = ARRAY(SELECT t.key FROM jsonb_each_text(tags) t ORDER BY t.key COLLATE \"C\"),"
                            + " tag_values = ARRAY(SELECT t.value FROM jsonb_each_text(tags) t"
                            + " ORDER BY t.key COLLATE \"C\")")));

    /** The version this bundle migrates to. */
    static final int CURRENT = MIGRATIONS.get(MIGRATIONS.size() - 1).version();

    private Schema() {
    }

    /** The schema name quoted as an SQL identifier (it is validated to {@code [a-z_][a-z0-9_]*}). */
    static String quoted(String schema) {
        return "\"" + schema + "\"";
    }

    /**
     * Brings the schema to {@code target}, applying what is missing in order.
     *
     * @return the migrations applied now (0 if the schema was current)
     * @throws SQLException from the server
     * @throws IllegalStateException if the database is at a version newer than this bundle knows
     */
    static int migrate(Connection connection, String schema, int target) throws SQLException {
        String q = quoted(schema);
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        int applied = 0;
        try {
            for (Migration migration : MIGRATIONS) {
                if (migration.version() > target) {
                    break;
                }
                try {
                    lock(connection, schema);
                    int current = prepare(connection, q);
                    if (current > CURRENT) {
                        throw new IllegalStateException("schema " + schema + " is at version " + current
                                + ", newer than this bundle knows (" + CURRENT + "): upgrade the bundle");
                    }
                    if (current < migration.version()) {
                        if (current != migration.version() - 1) {
                            throw new IllegalStateException("schema " + schema + " is at version " + current
                                    + ", cannot apply migration " + migration.version());
                        }
                        try (Statement statement = connection.createStatement()) {
                            for (String sql : migration.statements()) {
                                statement.execute(String.format(sql, q));
                            }
                        }
                        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + q
                                + ".keystore_schema_version (version, description) VALUES (?, ?)")) {
                            insert.setInt(1, migration.version());
                            insert.setString(2, migration.description());
                            insert.executeUpdate();
                        }
                        applied++;
                    }
                    connection.commit();
                } catch (SQLException | RuntimeException e) {
                    connection.rollback();
                    throw e;
                }
            }
            if (target >= CURRENT) {
                // A database newer than this bundle is refused even when there was nothing to apply.
                lock(connection, schema);
                int current = version(connection, schema);
                connection.commit();
                if (current > CURRENT) {
                    throw new IllegalStateException("schema " + schema + " is at version " + current
                            + ", newer than this bundle knows (" + CURRENT + "): upgrade the bundle");
                }
            }
        } finally {
            connection.setAutoCommit(autoCommit);
        }
        return applied;
    }

    /** The highest version recorded, 0 if the schema or its version table does not exist. */
    static int version(Connection connection, String schema) throws SQLException {
        try (PreparedStatement exists = connection.prepareStatement(
                "SELECT to_regclass(?) IS NOT NULL")) {
            exists.setString(1, quoted(schema) + ".keystore_schema_version");
            try (ResultSet rs = exists.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return 0;
                }
            }
        }
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT coalesce(max(version), 0) FROM " + quoted(schema)
                     + ".keystore_schema_version")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static void lock(Connection connection, String schema) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
            lock.setString(1, "openkcm.keystore.postgres:" + schema);
            lock.execute();
        }
    }

    /** Creates the schema and the version table if absent; returns the version recorded. */
    private static int prepare(Connection connection, String q) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("CREATE SCHEMA IF NOT EXISTS " + q);
            statement.execute("CREATE TABLE IF NOT EXISTS " + q + ".keystore_schema_version ("
                    + " version integer PRIMARY KEY,"
                    + " description text NOT NULL,"
                    + " applied_at timestamptz NOT NULL DEFAULT now())");
            try (ResultSet rs = statement.executeQuery("SELECT coalesce(max(version), 0) FROM " + q
                    + ".keystore_schema_version")) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
