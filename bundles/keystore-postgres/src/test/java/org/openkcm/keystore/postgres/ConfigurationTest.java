package org.openkcm.keystore.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.postgres.testing.PostgresServer;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.openkcm.keystore.sdk.SampleKeys;

/** The configuration rules, and the password reference (env:NAME, file:/path; never a value). */
class ConfigurationTest {
    @TempDir
    Path dir;

    @Test
    void thePasswordFromAnEnvironmentVariableLogsIn() {
        Map<String, Object> props = TestDatabase.properties();
        props.put("password.ref", "env:OPENKCM_TEST_PG_PASSWORD");
        roundTrip(props);
    }

    @Test
    void thePasswordFromAFileLogsIn() throws Exception {
        Path file = dir.resolve("pg-password");
        Files.writeString(file, PostgresServer.PASSWORD + "\n");
        Map<String, Object> props = TestDatabase.properties();
        props.put("password.ref", "file:" + file);
        roundTrip(props);
    }

    @Test
    void underTheOperatorsAllowListAPasswordFromElsewhereIsRefusedNamingTheRefAndTheRule() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        SecretPolicy policy = SecretPolicy.from(Map.of(SecretPolicy.DIR, secrets.toString())::get);
        Map<String, Object> props = TestDatabase.properties();
        props.put("password.ref", "env:OPENKCM_TEST_PG_PASSWORD");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PostgresSettings.from(TestDatabase.config(props), System::getenv, policy));
        assertEquals("password.ref = 'env:OPENKCM_TEST_PG_PASSWORD' is not an allowed secret source: an environment"
                + " variable must be named OPENKCM_SECRET_…, the prefix the operator allowed"
                + " (openkcm.secrets.env.prefix); allowed: env:OPENKCM_SECRET_… or file:" + secrets + "/…", e.getMessage());

        Path kek = Files.createDirectories(secrets.resolve("kek")).resolve("pin");
        Files.writeString(kek, "1234");
        props.put("password.ref", "file:" + kek);
        e = assertThrows(IllegalArgumentException.class,
                () -> PostgresSettings.from(TestDatabase.config(props), System::getenv, policy));
        assertTrue(e.getMessage().contains("are KEK providers' secrets and are never sent to a server as a token or a"
                + " password"), e.getMessage());
        assertEquals("1234", Files.readString(kek), "nothing changed");

        Path password = Files.writeString(secrets.resolve("pg-password"), PostgresServer.PASSWORD + "\n");
        props.put("password.ref", "file:" + password);
        roundTrip(PostgresSettings.from(TestDatabase.config(props), System::getenv, policy));
    }

    @Test
    void aPlainPasswordIsRefusedWithoutEchoingIt() {
        Map<String, Object> props = TestDatabase.properties();
        props.put("password.ref", PostgresServer.PASSWORD);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TestDatabase.settings(props));
        assertTrue(e.getMessage().startsWith("password.ref must be a reference"), e.getMessage());
        assertFalse(e.getMessage().contains(PostgresServer.PASSWORD), e.getMessage());
    }

    @Test
    void aMissingPasswordReferenceIsRefused() {
        Map<String, Object> props = TestDatabase.properties();
        props.remove("password.ref");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TestDatabase.settings(props));
        assertTrue(e.getMessage().startsWith("password.ref"), e.getMessage());
    }

    @Test
    void anUnsetVariableOrAnUnreadableFileIsRefusedAtActivation() {
        Map<String, Object> props = TestDatabase.properties();
        props.put("password.ref", "env:OPENKCM_TEST_PG_UNSET_VARIABLE");
        IllegalArgumentException env = assertThrows(IllegalArgumentException.class, () -> TestDatabase.settings(props));
        assertEquals("password.ref: environment variable OPENKCM_TEST_PG_UNSET_VARIABLE is not set", env.getMessage());

        props.put("password.ref", "file:" + dir.resolve("absent"));
        IllegalArgumentException file = assertThrows(IllegalArgumentException.class,
                () -> TestDatabase.settings(props));
        assertTrue(file.getMessage().contains("cannot read"), file.getMessage());

        props.put("password.ref", "file:relative/path");
        assertThrows(IllegalArgumentException.class, () -> TestDatabase.settings(props));
    }

    @Test
    void aWrongPasswordIsUnavailableAndStoresNothing() throws Exception {
        Path file = dir.resolve("wrong");
        Files.writeString(file, "not-the-password");
        Map<String, Object> props = TestDatabase.properties();
        props.put("password.ref", "file:" + file);
        PostgresKeystore keystore = TestDatabase.open(props);
        try {
            KeyId id = KeyId.of("k", 1);
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> keystore.storeKey(id, SampleKeys.sealed(1), SampleKeys.minimal(id).build()));
            assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
            assertFalse(e.getMessage().contains("not-the-password"), e.getMessage());
            KeystoreHealth health = keystore.health();
            assertFalse(health.isUp());
        } finally {
            keystore.close();
        }
        try (var c = TestDatabase.server().connect(); var rs = c.createStatement().executeQuery(
                "SELECT count(*) FROM pg_namespace WHERE nspname = '" + props.get("schema") + "'")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "nothing was created");
        }
    }

    @Test
    void credentialsInTheUrlAreRefused() {
        for (String url : new String[] {"jdbc:postgresql://127.0.0.1:5432/db?user=x&password=secret-value",
                "jdbc:postgresql://127.0.0.1:5432/db?sslpassword=secret-value",
                "jdbc:postgresql://bob:secret-value@127.0.0.1:5432/db"}) {
            Map<String, Object> props = TestDatabase.properties();
            props.put("url", url);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TestDatabase.settings(props), url);
            assertTrue(e.getMessage().startsWith("url must"), e.getMessage());
            assertFalse(e.getMessage().contains("secret-value"), e.getMessage());
        }
    }

    @Test
    void badValuesAreRefusedNamingTheProperty() {
        assertRefused("url", "http://127.0.0.1/db", "url must be jdbc:postgresql://");
        assertRefused("schema", "Bad-Schema", "schema must be");
        assertRefused("schema", "pg_catalog", "schema must be");
        assertRefused("user", "", "user is required");
        assertRefused("keystore.name", "../x", "keystore.name must be");
        assertRefused("keystore.tiers", "L1", "keystore.tiers: 'L1'");
        assertRefused("pool.size", 0, "pool.size must be between 1 and 200");
        assertRefused("health.timeout.ms", 6000L, "health.timeout.ms must be between 100 and 5000");
    }

    @Test
    void serviceProperties() {
        Map<String, Object> props = TestDatabase.properties();
        props.put("keystore.name", "pg-main");
        props.put("keystore.tiers", "L2,L3");
        props.put("keystore.regions", new String[] {"eu-west-1"});
        props.put("service.ranking", 7);
        Dictionary<String, Object> service = TestDatabase.settings(props).serviceProperties();
        assertEquals("pg-main", service.get(KeystoreProperties.NAME));
        assertEquals("[L2, L3]", Arrays.toString((String[]) service.get(KeystoreProperties.TIERS)));
        assertEquals("[eu-west-1]", Arrays.toString((String[]) service.get(KeystoreProperties.REGIONS)));
        assertEquals(7, service.get("service.ranking"));
    }

    private static void assertRefused(String property, Object value, String message) {
        Map<String, Object> props = TestDatabase.properties();
        props.put(property, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TestDatabase.settings(props),
                property);
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    private static void roundTrip(Map<String, Object> props) {
        roundTrip(TestDatabase.settings(props));
    }

    private static void roundTrip(PostgresSettings settings) {
        PostgresKeystore keystore = PostgresKeystore.open(new org.postgresql.osgi.PGDataSourceFactory(), settings);
        try {
            KeyId id = KeyId.of("k", 1);
            keystore.storeKey(id, SampleKeys.sealed(3), SampleKeys.minimal(id).build());
            assertEquals(SampleKeys.sealed(3), keystore.retrieveKey(id).sealed());
            assertTrue(keystore.health().isUp());
        } finally {
            keystore.close();
        }
    }
}
