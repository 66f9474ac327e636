package org.openkcm.keystore.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.SampleKeys;

/** The schema the bundle creates and migrates itself, on a real server. */
class SchemaMigrationTest {

    @Test
    void aFreshSchemaIsCreatedAtTheCurrentVersionByTheFirstCall() throws Exception {
        String schema = TestDatabase.freshSchema();
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(0, Schema.version(c, schema));
        }
        PostgresKeystore keystore = TestDatabase.open(TestDatabase.properties(TestDatabase.server(), schema));
        try {
            keystore.listKeys(KeyFilter.all());
        } finally {
            keystore.close();
        }
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(Schema.CURRENT, Schema.version(c, schema));
            assertEquals(List.of(1, 2, 3), recordedVersions(c, schema));
            assertTrue(indexExists(c, schema, "keystore_key_owner"));
        }
    }

    @Test
    void whatTheMigrationDidIsLogged() {
        String schema = TestDatabase.freshSchema();
        List<String> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int start = 0; start < 2; start++) {
            PostgresKeystore keystore = PostgresKeystore.open(new org.postgresql.osgi.PGDataSourceFactory(),
                    TestDatabase.settings(TestDatabase.properties(TestDatabase.server(), schema)), messages::add);
            try {
                keystore.listKeys(KeyFilter.all());
            } finally {
                keystore.close();
            }
        }
        assertEquals(List.of(
                "PostgreSQL keystore 'postgres': schema " + schema + " at version 3 (3 migration(s) applied)",
                "PostgreSQL keystore 'postgres': schema " + schema + " at version 3 (nothing to migrate)"), messages);
    }

    @Test
    void migratingAgainChangesNothing() throws Exception {
        String schema = TestDatabase.freshSchema();
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(Schema.CURRENT, Schema.migrate(c, schema, Schema.CURRENT));
            assertEquals(0, Schema.migrate(c, schema, Schema.CURRENT));
            assertEquals(List.of(1, 2, 3), recordedVersions(c, schema));
        }
    }

    @Test
    void aVersion1DatabaseWithKeysIsMigratedToCurrentAndKeepsThem() throws Exception {
        String schema = TestDatabase.freshSchema();
        KeyId id = KeyId.of("written-under-v1", 1);
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(1, Schema.migrate(c, schema, 1));
            assertFalse(indexExists(c, schema, "keystore_key_owner"));
            // A row as version 1 of the bundle wrote it, with plain SQL.
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO \"" + schema + "\".keystore_key (name,"
                    + " version, sealed, key_type, algorithm, key_size, status, owner_kind, owner_id, tags, created_ms,"
                    + " updated_ms, revision) VALUES (?, 1, ?, 'L2', 'AES', 256, 'ACTIVE', 'TENANT', 'acme',"
                    + " '{\"env\": \"prod\", \"app\": \"x y\"}', ?, ?, 1)")) {
                insert.setString(1, id.name());
                insert.setBytes(2, SampleKeys.sealed(9).bytes());
                insert.setLong(3, SampleKeys.T0.toEpochMilli());
                insert.setLong(4, SampleKeys.T0.toEpochMilli());
                insert.executeUpdate();
            }
        }
        PostgresKeystore keystore = TestDatabase.open(TestDatabase.properties(TestDatabase.server(), schema));
        try {
            StoredKey stored = keystore.retrieveKey(id);
            assertEquals(SampleKeys.sealed(9), stored.sealed());
            assertEquals(Map.of("env", "prod", "app", "x y"), stored.metadata().tags(), "tags backfilled by V3");
            KeyMetadata next = stored.metadata().toBuilder().revision(2).tags(Map.of("env", "test")).build();
            keystore.updateKeyMetadata(id, next);
            assertEquals(next, keystore.retrieveKey(id).metadata());
        } finally {
            keystore.close();
        }
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(List.of(1, 2, 3), recordedVersions(c, schema));
            assertTrue(indexExists(c, schema, "keystore_key_owner"));
            assertTrue(indexExists(c, schema, "keystore_key_tags"));
        }
    }

    @Test
    void instancesStartingTogetherMigrateOnceUnderTheAdvisoryLock() throws Exception {
        String schema = TestDatabase.freshSchema();
        int instances = 6;
        ExecutorService pool = Executors.newFixedThreadPool(instances);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> results = new ArrayList<>();
        try {
            for (int i = 0; i < instances; i++) {
                results.add(pool.submit(() -> {
                    try (Connection c = TestDatabase.server().connect()) {
                        go.await();
                        return Schema.migrate(c, schema, Schema.CURRENT);
                    }
                }));
            }
            go.countDown();
            int applied = 0;
            for (Future<Integer> result : results) {
                applied += result.get();
            }
            assertEquals(Schema.CURRENT, applied, "each migration applied exactly once in all");
        } finally {
            pool.shutdownNow();
        }
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(List.of(1, 2, 3), recordedVersions(c, schema));
        }
    }

    @Test
    void aSchemaNewerThanTheBundleIsRefusedAndLeftAlone() throws Exception {
        String schema = TestDatabase.freshSchema();
        try (Connection c = TestDatabase.server().connect()) {
            Schema.migrate(c, schema, Schema.CURRENT);
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO \"" + schema + "\".keystore_schema_version (version, description)"
                        + " VALUES (99, 'from a newer bundle')");
            }
        }
        PostgresKeystore keystore = TestDatabase.open(TestDatabase.properties(TestDatabase.server(), schema));
        try {
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> keystore.retrieveKey(KeyId.of("any", 1)));
            assertTrue(e.getMessage().contains("version 99, newer than this bundle knows (3)"), e.getMessage());
            assertFalse(keystore.health().isUp());
        } finally {
            keystore.close();
        }
        try (Connection c = TestDatabase.server().connect()) {
            assertEquals(List.of(1, 2, 3, 99), recordedVersions(c, schema));
        }
    }

    private static List<Integer> recordedVersions(Connection c, String schema) throws SQLException {
        List<Integer> versions = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT version FROM \"" + schema
                     + "\".keystore_schema_version ORDER BY version")) {
            while (rs.next()) {
                versions.add(rs.getInt(1));
            }
        }
        return versions;
    }

    private static boolean indexExists(Connection c, String schema, String index) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            s.setString(1, "\"" + schema + "\"." + index);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }
}
