package org.openkcm.keystore.postgres;

import java.security.MessageDigest;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.osgi.service.jdbc.DataSourceFactory;

/**
 * A {@link Keystore} in one schema of a PostgreSQL database: one row per key version in
 * {@code keystore_key}, primary key {@code (name, version)}, the sealed record in a {@code bytea},
 * every metadata field in a column of its own (tags as {@code jsonb}).
 * <p>
 * Each operation is one statement in the common case, and the server does the atomic part:
 * create-only is {@code INSERT … ON CONFLICT DO NOTHING} (a refused insert is then read back to
 * tell an identical retry from a different key), compare-and-set is {@code UPDATE … WHERE
 * revision = ?}, listing is keyset pagination on the primary key. A failure to reach the server,
 * a pool with no connection free in time, a server shutting down or a statement timeout is an
 * {@link UnavailableException}; a statement that fails for another reason too (the database
 * refused it: the message names the SQL state, never a record).
 */
final class PostgresKeystore implements Keystore {
    private static final String METADATA_COLUMNS = "name, version, key_type, algorithm, key_size, status, expiry_ms,"
            + " owner_kind, owner_id, region, parent_name, parent_version,"
            + " tag_keys, tag_values,"
            + " created_ms, updated_ms, revision, lifecycle_mac";

    private final PostgresSettings settings;
    private final HikariDataSource pool;
    private final Consumer<String> log;
    private final ExecutorService healthProbe;
    private final String insertSql;
    private final String selectSql;
    private final String updateSql;
    private final String rewrapSql;
    private final String deleteSql;
    private final String listSql;
    private final String schemaQuoted;
    private volatile boolean schemaReady;
    private volatile boolean closed;

    private PostgresKeystore(PostgresSettings settings, HikariDataSource pool, Consumer<String> log) {
        this.settings = settings;
        this.pool = pool;
        this.log = log;
        this.schemaQuoted = Schema.quoted(settings.schema);
        String table = String.format(Schema.KEY_TABLE, schemaQuoted);
        this.insertSql = "INSERT INTO " + table + " (name, version, sealed, key_type, algorithm, key_size, status,"
                + " expiry_ms, owner_kind, owner_id, region, parent_name, parent_version, tags, created_ms, updated_ms,"
                + " revision, lifecycle_mac, tag_keys, tag_values) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                + " jsonb_object(?::text[], ?::text[]), ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING";
        this.selectSql = "SELECT sealed, " + METADATA_COLUMNS + " FROM " + table + " WHERE name = ? AND version = ?";
        this.updateSql = "UPDATE " + table + " SET status = ?, expiry_ms = ?, tags = jsonb_object(?::text[], ?::text[]),"
                + " tag_keys = ?, tag_values = ?, updated_ms = ?, revision = ?, lifecycle_mac = ?"
                + " WHERE name = ? AND version = ? AND revision = ? AND key_type = ? AND algorithm = ? AND key_size = ?"
                + " AND owner_kind = ? AND owner_id = ? AND region IS NOT DISTINCT FROM ?"
                + " AND parent_name IS NOT DISTINCT FROM ? AND parent_version IS NOT DISTINCT FROM ?"
                + " AND created_ms = ?";
        this.rewrapSql = "UPDATE " + table + " SET sealed = ? WHERE name = ? AND version = ? AND revision = ?";
        this.deleteSql = "DELETE FROM " + table + " WHERE name = ? AND version = ?";
        this.listSql = "SELECT " + METADATA_COLUMNS + " FROM " + table + " WHERE (?::text IS NULL OR (name, version) >"
                + " (?::text COLLATE \"C\", ?::integer)) AND (?::text IS NULL OR owner_kind = ?::text)"
                + " AND (?::text IS NULL OR owner_id = ?::text) AND (?::text IS NULL OR key_type = ?::text)"
                + " AND (?::text IS NULL OR status = ?::text) AND (?::text IS NULL OR region = ?::text)"
                + " AND (?::boolean OR tags @> jsonb_object(?::text[], ?::text[]))"
                + " ORDER BY name, version LIMIT ?";
        this.healthProbe = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "openkcm-postgres-health-" + settings.name);
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * A keystore whose connections come from {@code factory} (pgjdbc's OSGi DataSourceFactory),
     * pooled by HikariCP. The server is not contacted here.
     *
     * @throws IllegalArgumentException if the factory refuses the settings
     */
    static PostgresKeystore open(DataSourceFactory factory, PostgresSettings settings) {
        return open(factory, settings, message -> { });
    }

    /**
     * As {@link #open(DataSourceFactory, PostgresSettings)}, telling {@code log} what the schema
     * migration did (never a record or the password).
     */
    static PostgresKeystore open(DataSourceFactory factory, PostgresSettings settings, Consumer<String> log) {
        Properties properties = new Properties();
        properties.setProperty(DataSourceFactory.JDBC_URL, settings.url);
        properties.setProperty(DataSourceFactory.JDBC_USER, settings.user);
        properties.setProperty(DataSourceFactory.JDBC_PASSWORD, settings.password.read());
        properties.setProperty("connectTimeout", Long.toString(settings.connectTimeout.toSeconds()));
        properties.setProperty("socketTimeout", Long.toString(settings.statementTimeout.toSeconds() + 5));
        properties.setProperty("ApplicationName", "openkcm-keystore/" + settings.name);
        properties.setProperty("options", "-c statement_timeout=" + settings.statementTimeout.toMillis());
        DataSource dataSource;
        try {
            dataSource = factory.createDataSource(properties);
        } catch (SQLException e) {
            throw new IllegalArgumentException("the PostgreSQL DataSourceFactory refused the configuration: "
                    + e.getMessage());
        }
        HikariConfig config = new HikariConfig();
        config.setDataSource(dataSource);
        config.setPoolName("openkcm-postgres-" + settings.name);
        config.setMaximumPoolSize(settings.poolSize);
        config.setMinimumIdle(Math.min(2, settings.poolSize));
        config.setConnectionTimeout(Math.max(250, settings.connectTimeout.toMillis()));
        config.setValidationTimeout(Math.max(250, Math.min(settings.connectTimeout.toMillis(), 5000)));
        // The server need not be up at activation: the pool starts empty and fills when it can.
        config.setInitializationFailTimeout(-1);
        config.setAutoCommit(true);
        return new PostgresKeystore(settings, new HikariDataSource(config), log);
    }

    /** Closes the pool; every later call is refused as unavailable. Keys stay in the database. */
    void close() {
        closed = true;
        healthProbe.shutdownNow();
        pool.close();
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        Validation.storeRequest(id, sealed, metadata);
        if (!settings.tiers.contains(metadata.type())) {
            throw new PolicyRefusedException(id, "the PostgreSQL keystore '" + settings.name
                    + "' does not accept tier " + metadata.type() + " (keystore.tiers=" + settings.tiers + ")");
        }
        byte[] bytes = sealed.bytes();
        try (Connection connection = connection(id)) {
            while (true) {
                try (PreparedStatement insert = connection.prepareStatement(insertSql)) {
                    int i = 1;
                    insert.setString(i++, id.name());
                    insert.setInt(i++, id.version());
                    insert.setBytes(i++, bytes);
                    insert.setString(i++, metadata.type().name());
                    insert.setString(i++, metadata.algorithm());
                    insert.setInt(i++, metadata.keySize());
                    insert.setString(i++, metadata.status().name());
                    setMillis(insert, i++, metadata.expiry().orElse(null));
                    insert.setString(i++, metadata.owner().kind().name());
                    insert.setString(i++, metadata.owner().id());
                    insert.setString(i++, metadata.region().orElse(null));
                    insert.setString(i++, metadata.parent().map(KeyId::name).orElse(null));
                    setInteger(insert, i++, metadata.parent().map(KeyId::version).orElse(null));
                    i = setTags(connection, insert, i, metadata.tags());
                    insert.setLong(i++, metadata.created().toEpochMilli());
                    insert.setLong(i++, metadata.updated().toEpochMilli());
                    insert.setLong(i++, metadata.revision());
                    insert.setString(i++, metadata.lifecycleMac().orElse(null));
                    setTags(connection, insert, i, metadata.tags());
                    if (insert.executeUpdate() == 1) {
                        return;
                    }
                }
                StoredKey existing = select(connection, id);
                if (existing == null) {
                    continue; // deleted since the insert met it: try again
                }
                if (existing.metadata().equals(metadata) && MessageDigest.isEqual(existing.sealed().bytes(), bytes)) {
                    return; // an identical retry
                }
                throw new KeyExistsException(id);
            }
        } catch (SQLException e) {
            throw failure("store", id, e);
        }
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        Validation.required("keyId", id);
        try (Connection connection = connection(id)) {
            StoredKey stored = select(connection, id);
            if (stored == null) {
                throw new KeyNotFoundException(id);
            }
            return stored;
        } catch (SQLException e) {
            throw failure("retrieve", id, e);
        }
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        Validation.required("keyId", id);
        Validation.required("metadata", metadata);
        try (Connection connection = connection(id)) {
            while (true) {
                try (PreparedStatement update = connection.prepareStatement(updateSql)) {
                    int i = 1;
                    update.setString(i++, metadata.status().name());
                    setMillis(update, i++, metadata.expiry().orElse(null));
                    i = setTags(connection, update, i, metadata.tags());
                    i = setTags(connection, update, i, metadata.tags());
                    update.setLong(i++, metadata.updated().toEpochMilli());
                    update.setLong(i++, metadata.revision());
                    update.setString(i++, metadata.lifecycleMac().orElse(null));
                    update.setString(i++, id.name());
                    update.setInt(i++, id.version());
                    update.setLong(i++, metadata.revision() - 1);
                    update.setString(i++, metadata.type().name());
                    update.setString(i++, metadata.algorithm());
                    update.setInt(i++, metadata.keySize());
                    update.setString(i++, metadata.owner().kind().name());
                    update.setString(i++, metadata.owner().id());
                    update.setString(i++, metadata.region().orElse(null));
                    update.setString(i++, metadata.parent().map(KeyId::name).orElse(null));
                    setInteger(update, i++, metadata.parent().map(KeyId::version).orElse(null));
                    update.setLong(i, metadata.created().toEpochMilli());
                    if (id.equals(metadata.id()) && update.executeUpdate() == 1) {
                        return metadata;
                    }
                }
                // Not updated: tell why from what is stored now (absent, immutable field, stale revision).
                StoredKey stored = select(connection, id);
                if (stored == null) {
                    throw new KeyNotFoundException(id);
                }
                Validation.metadataUpdate(stored.metadata(), metadata);
                // It matched after all: changed between the update and the read. Try again.
            }
        } catch (SQLException e) {
            throw failure("update", id, e);
        }
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        Validation.required("keyId", id);
        Validation.required("sealed", sealed);
        try (Connection connection = connection(id)) {
            while (true) {
                try (PreparedStatement update = connection.prepareStatement(rewrapSql)) {
                    update.setBytes(1, sealed.bytes());
                    update.setString(2, id.name());
                    update.setInt(3, id.version());
                    update.setLong(4, expectedRevision);
                    if (update.executeUpdate() == 1) {
                        return;
                    }
                }
                StoredKey stored = select(connection, id);
                if (stored == null) {
                    throw new KeyNotFoundException(id);
                }
                Validation.rewrap(stored.metadata(), expectedRevision);
            }
        } catch (SQLException e) {
            throw failure("rewrap", id, e);
        }
    }

    @Override
    public boolean deleteKey(KeyId id) {
        Validation.required("keyId", id);
        try (Connection connection = connection(id);
             PreparedStatement delete = connection.prepareStatement(deleteSql)) {
            delete.setString(1, id.name());
            delete.setInt(2, id.version());
            return delete.executeUpdate() > 0;
        } catch (SQLException e) {
            throw failure("delete", id, e);
        }
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        Validation.required("filter", filter);
        KeyId after = filter.cursor().map(KeyPage::positionOf).orElse(null);
        try (Connection connection = connection(null);
             PreparedStatement list = connection.prepareStatement(listSql)) {
            int i = 1;
            String afterName = after == null ? null : after.name();
            list.setString(i++, afterName);
            list.setString(i++, afterName);
            setInteger(list, i++, after == null ? null : after.version());
            i = setOptional(list, i, filter.ownerKind().map(Enum::name).orElse(null));
            i = setOptional(list, i, filter.ownerId().orElse(null));
            i = setOptional(list, i, filter.type().map(Enum::name).orElse(null));
            i = setOptional(list, i, filter.status().map(Enum::name).orElse(null));
            i = setOptional(list, i, filter.region().orElse(null));
            list.setBoolean(i++, filter.tags().isEmpty());
            i = setTags(connection, list, i, filter.tags());
            list.setInt(i, filter.pageSize() + 1);
            List<KeyMetadata> page = new ArrayList<>(Math.min(filter.pageSize(), 64));
            boolean more = false;
            try (ResultSet rs = list.executeQuery()) {
                while (rs.next()) {
                    if (page.size() == filter.pageSize()) {
                        more = true;
                        break;
                    }
                    page.add(metadata(rs));
                }
            }
            return KeyPage.of(page, more ? KeyPage.cursorAfter(page.get(page.size() - 1).id()) : null);
        } catch (SQLException e) {
            throw failure("list", null, e);
        }
    }

    @Override
    public KeystoreHealth health() {
        long start = System.nanoTime();
        if (closed) {
            return KeystoreHealth.down(Duration.ZERO, "deactivated");
        }
        Future<?> probe;
        try {
            probe = healthProbe.submit(() -> {
                try (Connection connection = connection(null);
                     PreparedStatement statement = connection.prepareStatement("SELECT 1")) {
                    statement.setQueryTimeout((int) Math.max(1, settings.healthTimeout.toSeconds()));
                    statement.execute();
                } catch (SQLException e) {
                    throw failure("health probe", null, e);
                }
                return null;
            });
        } catch (RuntimeException rejected) {
            return KeystoreHealth.down(elapsed(start), "deactivated");
        }
        try {
            probe.get(settings.healthTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return KeystoreHealth.up(elapsed(start));
        } catch (TimeoutException e) {
            probe.cancel(true);
            return KeystoreHealth.down(elapsed(start), "no answer from " + describeServer() + " within "
                    + settings.healthTimeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            return KeystoreHealth.down(elapsed(start), String.valueOf(e.getCause().getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return KeystoreHealth.down(elapsed(start), "interrupted");
        }
    }

    @Override
    public String toString() {
        return "PostgresKeystore[" + settings.name + ", schema " + settings.schema + (closed ? ", closed" : "") + "]";
    }

    /** The schema name this instance owns. */
    String schema() {
        return settings.schema;
    }

    /** The pool, for tests that look at the database directly. */
    DataSource dataSource() {
        return pool;
    }

    /** A pooled connection, the schema created or migrated first if this instance has not yet done it. */
    private Connection connection(KeyId id) throws SQLException {
        if (closed) {
            throw new UnavailableException("the PostgreSQL keystore '" + settings.name + "' is deactivated", id, null);
        }
        Connection connection = pool.getConnection();
        if (!schemaReady) {
            try {
                ensureSchema(connection);
            } catch (SQLException | RuntimeException e) {
                connection.close();
                throw e;
            }
        }
        return connection;
    }

    private void ensureSchema(Connection connection) throws SQLException {
        int applied;
        try {
            applied = Schema.migrate(connection, settings.schema, Schema.CURRENT);
        } catch (IllegalStateException e) {
            log.accept("PostgreSQL keystore '" + settings.name + "' cannot use its schema: " + e.getMessage());
            throw new UnavailableException("the PostgreSQL keystore '" + settings.name + "': " + e.getMessage());
        }
        schemaReady = true;
        log.accept("PostgreSQL keystore '" + settings.name + "': schema " + settings.schema + " at version "
                + Schema.CURRENT + (applied == 0 ? " (nothing to migrate)" : " (" + applied + " migration(s) applied)"));
    }

    private StoredKey select(Connection connection, KeyId id) throws SQLException {
        try (PreparedStatement select = connection.prepareStatement(selectSql)) {
            select.setString(1, id.name());
            select.setInt(2, id.version());
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return StoredKey.of(SealedKey.of(rs.getBytes("sealed")), metadata(rs));
            }
        }
    }

    private static KeyMetadata metadata(ResultSet rs) throws SQLException {
        String parentName = rs.getString("parent_name");
        KeyMetadata.Builder builder = KeyMetadata.builder()
                .id(KeyId.of(rs.getString("name"), rs.getInt("version")))
                .type(KeyType.valueOf(rs.getString("key_type")))
                .algorithm(rs.getString("algorithm"))
                .keySize(rs.getInt("key_size"))
                .status(KeyStatus.valueOf(rs.getString("status")))
                .owner(Owner.of(OwnerKind.valueOf(rs.getString("owner_kind")), rs.getString("owner_id")))
                .region(rs.getString("region"))
                .parent(parentName == null ? null : KeyId.of(parentName, rs.getInt("parent_version")))
                .tags(tags(rs.getArray("tag_keys"), rs.getArray("tag_values")))
                .created(Instant.ofEpochMilli(rs.getLong("created_ms")))
                .updated(Instant.ofEpochMilli(rs.getLong("updated_ms")))
                .revision(rs.getLong("revision"))
                .lifecycleMac(rs.getString("lifecycle_mac"));
        long expiry = rs.getLong("expiry_ms");
        if (!rs.wasNull()) {
            builder.expiry(Instant.ofEpochMilli(expiry));
        }
        return builder.build();
    }

    private static Map<String, String> tags(Array keys, Array values) throws SQLException {
        String[] k = (String[]) keys.getArray();
        String[] v = (String[]) values.getArray();
        Map<String, String> tags = new TreeMap<>();
        for (int i = 0; i < k.length; i++) {
            tags.put(k[i], v[i]);
        }
        return tags;
    }

    private static int setTags(Connection connection, PreparedStatement statement, int index, Map<String, String> tags)
            throws SQLException {
        statement.setArray(index, connection.createArrayOf("text", tags.keySet().toArray(new String[0])));
        statement.setArray(index + 1, connection.createArrayOf("text", tags.values().toArray(new String[0])));
        return index + 2;
    }

    private static int setOptional(PreparedStatement statement, int index, String value) throws SQLException {
        statement.setString(index, value);
        statement.setString(index + 1, value);
        return index + 2;
    }

    private static void setMillis(PreparedStatement statement, int index, Instant instant) throws SQLException {
        if (instant == null) {
            statement.setNull(index, Types.BIGINT);
        } else {
            statement.setLong(index, instant.toEpochMilli());
        }
    }

    private static void setInteger(PreparedStatement statement, int index, Integer value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.INTEGER);
        } else {
            statement.setInt(index, value);
        }
    }

    private static Duration elapsed(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private String describeServer() {
        return "PostgreSQL keystore '" + settings.name + "'";
    }

    /**
     * The typed error for a failed statement. Everything that says the server cannot serve now
     * (no connection, connection lost, shutting down, too many clients, read-only standby, timeout,
     * serialization failure or deadlock) and every other server refusal is unavailable: none of
     * them says anything about the key, and a retry may succeed. The message names the SQL state
     * and pgjdbc's text, which holds no record (records are bound as parameters, never printed).
     */
    private KeystoreException failure(String operation, KeyId id, SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String kind;
        if (closed) {
            kind = "deactivated";
        } else if (state.startsWith("28")) {
            kind = "authentication failed (check user and password.ref)";
        } else if (state.startsWith("08") || e instanceof java.sql.SQLTransientConnectionException
                || e instanceof java.sql.SQLNonTransientConnectionException) {
            kind = "cannot reach the database";
        } else if (state.startsWith("57P") || state.equals("53300") || state.startsWith("53")) {
            kind = "the database is shutting down or out of resources";
        } else if (state.equals("57014")) {
            kind = "statement timed out";
        } else if (state.equals("25006")) {
            kind = "the database is read-only (a standby?)";
        } else if (state.equals("40001") || state.equals("40P01")) {
            kind = "transaction conflict, retry";
        } else {
            kind = "the database refused the statement";
        }
        String detail = e.getMessage();
        if (e.getCause() instanceof SQLException cause && cause.getMessage() != null) {
            detail = detail + " (" + cause.getMessage() + ")"; // the pool's message hides the server's reason
        }
        return new UnavailableException(describeServer() + ": " + operation + " failed, " + kind
                + (state.isEmpty() ? "" : " (SQL state " + state + ")") + ": " + detail, id, e);
    }
}
