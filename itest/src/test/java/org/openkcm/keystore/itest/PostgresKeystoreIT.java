package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.postgres.testing.PostgresServer;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.jdbc.DataSourceFactory;

/**
 * The PostgreSQL backend in a plain Felix with SCR, ConfigAdmin and the core, against a real
 * PostgreSQL server started outside the framework by the configuration method (the launcher of the
 * backend's own tests; stopped when the JVM exits): the backend, pgjdbc and HikariCP resolve, the
 * backend's connections come from pgjdbc's DataSourceFactory service, and a key generated through
 * {@link KeystoreOperations} is stored in the database (sealed) and read back.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class PostgresKeystoreIT extends RoutingTestSupport {
    private static final String POSTGRES_BSN = "org.openkcm.keystore.keystore-postgres";
    private static final String POSTGRES_PID = "org.openkcm.keystore.postgres";
    private static final String URL = "itest.pg.url";
    private static final String PASSWORD_FILE = "itest.pg.password.file";

    @Configuration
    public Option[] configuration() {
        PostgresServer server = PostgresServer.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        Path passwordFile;
        Path secrets;
        try {
            Path dir = Files.createDirectories(Paths.get(System.getProperty("openkcm.pg.workdir", "target/pg-servers")));
            // the secret allow-list is on: the password in a folder of its own, named as the secrets folder
            secrets = Files.createDirectories(dir.resolve("itest-secrets")).toAbsolutePath();
            passwordFile = Files.writeString(secrets.resolve("itest-password"), PostgresServer.PASSWORD);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return options(
                routingConfiguration(),
                buildBundle("jdbc-api"),
                buildBundle("pgjdbc"),
                buildBundle("hikari"),
                buildBundle("keystore-postgres"),
                systemProperty(URL).value(server.url()),
                systemProperty(PASSWORD_FILE).value(passwordFile.toAbsolutePath().toString()),
                frameworkProperty("openkcm.secrets.dir").value(secrets.toString()));
    }

    @Test
    public void theBackendPgjdbcAndThePoolResolveAndTheFactoryIsAService() throws Exception {
        Bundle postgres = installedBundle(POSTGRES_BSN);
        Bundle pgjdbc = installedBundle("org.postgresql.jdbc");
        Bundle hikari = installedBundle("com.zaxxer.HikariCP");
        for (Bundle bundle : new Bundle[] {postgres, pgjdbc, hikari}) {
            assertEquals(bundle.getSymbolicName() + " is active", Bundle.ACTIVE, bundle.getState());
        }
        Map<String, String> providers = new HashMap<>();
        for (BundleWire wire : postgres.adapt(BundleWiring.class).getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE)) {
            providers.put((String) wire.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE),
                    wire.getProvider().getBundle().getSymbolicName());
        }
        assertEquals("com.zaxxer.HikariCP", providers.get("com.zaxxer.hikari"));
        assertEquals("org.osgi.service.jdbc", providers.get("org.osgi.service.jdbc"));
        assertFalse("the driver is never imported: " + providers, providers.containsKey("org.postgresql"));

        ServiceReference<DataSourceFactory> factory = awaitRegistration(DataSourceFactory.class,
                "(osgi.jdbc.driver.class=org.postgresql.Driver)");
        assertEquals(pgjdbc, factory.getBundle());
        ComponentDescriptionDTO description = serviceComponentRuntime.getComponentDescriptionDTO(postgres,
                POSTGRES_PID);
        assertNotNull(description);
        assertEquals("require", description.configurationPolicy);
        assertEquals("(osgi.jdbc.driver.class=org.postgresql.Driver)", description.references[0].target);
    }

    @Test
    public void aKeyRoundTripsThroughKeystoreOperationsAgainstTheServer() throws Exception {
        String schema = "itest_" + System.nanoTime();
        org.osgi.service.cm.Configuration configuration = postgres("main", schema);
        router(Map.of("default.target", "pg-itest"));

        ServiceReference<Keystore> reference = awaitKeystoreReference("pg-itest");
        assertEquals(POSTGRES_BSN, reference.getBundle().getSymbolicName());
        assertArrayEquals(new String[] {"L2", "L3", "L4"}, (String[]) reference.getProperty(KeystoreProperties.TIERS));
        assertEquals(3, reference.getProperty(Constants.SERVICE_RANKING));
        assertEquals("the password reference is not published", null, reference.getProperty("password.ref"));
        ComponentConfigurationDTO dto = componentConfiguration(configuration);
        org.osgi.service.component.runtime.dto.SatisfiedReferenceDTO bound = Arrays.stream(dto.satisfiedReferences)
                .filter(r -> r.name.equals("dataSourceFactory")).findFirst().orElseThrow();
        assertEquals("bound to pgjdbc's DataSourceFactory", 1, bound.boundServices.length);
        assertEquals(installedBundle("org.postgresql.jdbc").getBundleId(), bound.boundServices[0].bundle);

        KeystoreOperations operations = operations();
        KeySpec spec = KeySpec.builder().name("pg-tenant-key").type(KeyType.L2).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).tags(Map.of("env", "itest")).build();
        KeyMetadata generated = operations.generate(spec);
        byte[] material;
        try (KeyMaterial opened = operations.get(generated.id())) {
            material = opened.copyBytes();
            assertEquals(32, material.length);
        }
        assertEquals(generated, operations.metadata(generated.id()));

        // In the database: one row, sealed (the material does not occur in it), with its metadata in columns.
        try (Connection c = DriverManager.getConnection(System.getProperty(URL), PostgresServer.USER,
                PostgresServer.PASSWORD);
             PreparedStatement s = c.prepareStatement("SELECT sealed, owner_kind, owner_id, key_type FROM \"" + schema
                     + "\".keystore_key WHERE name = ? AND version = ?")) {
            s.setString(1, generated.id().name());
            s.setInt(2, generated.id().version());
            try (ResultSet rs = s.executeQuery()) {
                assertTrue("the key is in the database", rs.next());
                assertFalse("the database holds the material in the clear", containsBytes(rs.getBytes(1), material));
                assertEquals("TENANT", rs.getString(2));
                assertEquals("acme", rs.getString(3));
                assertEquals("L2", rs.getString(4));
            }
        }
        Arrays.fill(material, (byte) 0);

        assertTrue(operations.delete(generated.id()));
        configuration.delete();
        awaitNoKeystore("pg-itest");
    }

    @Test
    public void aPlainPasswordInTheConfigurationBringsUpNoKeystore() throws Exception {
        Map<String, Object> properties = postgresProperties("pg-refused", "itest_refused");
        properties.put("password.ref", PostgresServer.PASSWORD);
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getFactoryConfiguration(POSTGRES_PID,
                "refused", "?");
        configuration.update(dictionary(properties));
        try {
            awaitCondition("SCR to report the refused configuration", () -> {
                ComponentConfigurationDTO dto = componentConfiguration(configuration);
                return dto != null && dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION;
            });
            String failure = componentConfiguration(configuration).failure;
            assertTrue(failure, failure.contains("password.ref must be a reference"));
            assertFalse("the password is not echoed: " + failure, failure.contains(PostgresServer.PASSWORD));
            assertEquals(0, keystoreReferences("pg-refused").size());
        } finally {
            configuration.delete();
        }
    }

    private org.osgi.service.cm.Configuration postgres(String name, String schema) throws IOException {
        org.osgi.service.cm.Configuration c = configurationAdmin.getFactoryConfiguration(POSTGRES_PID, name, "?");
        c.update(dictionary(postgresProperties("pg-itest", schema)));
        return c;
    }

    private static Map<String, Object> postgresProperties(String keystoreName, String schema) {
        Map<String, Object> p = new HashMap<>();
        p.put("url", System.getProperty(URL));
        p.put("user", PostgresServer.USER);
        p.put("password.ref", "file:" + System.getProperty(PASSWORD_FILE));
        p.put("schema", schema);
        p.put(KeystoreProperties.NAME, keystoreName);
        p.put(Constants.SERVICE_RANKING, 3);
        p.put("pool.size", 4);
        return p;
    }

    private ComponentConfigurationDTO componentConfiguration(org.osgi.service.cm.Configuration configuration) {
        ComponentDescriptionDTO description = serviceComponentRuntime.getComponentDescriptionDTO(
                installedBundle(POSTGRES_BSN), POSTGRES_PID);
        for (ComponentConfigurationDTO dto : serviceComponentRuntime.getComponentConfigurationDTOs(description)) {
            if (configuration.getPid().equals(dto.properties.get("service.pid"))) {
                return dto;
            }
        }
        return null;
    }
}
