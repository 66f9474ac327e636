package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The in-memory backend in a real framework: configured through ConfigAdmin, registered by
 * Declarative Services, and gone when its configuration or its bundle goes. Each test gets a
 * fresh framework, since several stop or uninstall the bundle under test.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class MemoryKeystoreIT extends KeystoreTestSupport {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Configuration
    public Option[] configuration() {
        return options(baseConfiguration());
    }

    @Test
    public void bundlesResolveAndNoKeystoreRunsWithoutConfiguration() {
        for (String bsn : List.of(API_BSN, MEMORY_BSN, "org.apache.felix.scr", "org.apache.felix.configadmin")) {
            assertEquals(bsn + " should be ACTIVE", Bundle.ACTIVE, installedBundle(bsn).getState());
        }
        ComponentDescriptionDTO description = memoryComponent();
        assertArrayEquals(new String[] {MEMORY_PID}, description.configurationPid);
        assertEquals("require", description.configurationPolicy);
        assertTrue("the component must be immediate, or its keys would go with its last user", description.immediate);
        assertArrayEquals(new String[] {Keystore.class.getName()}, description.serviceInterfaces);
        assertEquals("configuration policy REQUIRE: no configuration, no keystore",
                List.of(), keystoreReferences("*"));
    }

    @Test
    public void factoryConfigurationRegistersAKeystoreWithItsProperties() throws Exception {
        configureMemoryKeystore("alpha", Map.of(
                KeystoreProperties.NAME, "alpha",
                KeystoreProperties.TIERS, new String[] {"L3", "L4"},
                KeystoreProperties.REGIONS, new String[] {"eu-west-1", "eu-central-1"},
                Constants.SERVICE_RANKING, 7,
                "maxEntries", 10));

        ServiceReference<Keystore> reference = awaitKeystoreReference("alpha");

        assertEquals("alpha", reference.getProperty(KeystoreProperties.NAME));
        assertArrayEquals(new String[] {"L3", "L4"}, (String[]) reference.getProperty(KeystoreProperties.TIERS));
        assertArrayEquals(new String[] {"eu-west-1", "eu-central-1"},
                (String[]) reference.getProperty(KeystoreProperties.REGIONS));
        assertEquals(7, reference.getProperty(Constants.SERVICE_RANKING));
        assertEquals(MEMORY_BSN, reference.getBundle().getSymbolicName());

        Keystore keystore = bundleContext.getService(reference);
        try {
            KeyId id = KeyId.of("first", 1);
            keystore.storeKey(id, record(1), metadata(id, KeyType.L4));
            StoredKey stored = keystore.retrieveKey(id);
            assertEquals(record(1), stored.sealed());
            assertEquals(metadata(id, KeyType.L4), stored.metadata());
            assertTrue(keystore.health().isUp());
        } finally {
            bundleContext.ungetService(reference);
        }
    }

    @Test
    public void defaultsApplyToAttributesTheConfigurationLeavesOut() throws Exception {
        configureMemoryKeystore("defaults", Map.of());

        ServiceReference<Keystore> reference = awaitKeystoreReference("memory");

        assertArrayEquals(new String[] {"L2", "L3", "L4"}, (String[]) reference.getProperty(KeystoreProperties.TIERS));
        assertEquals(0, reference.getProperty(Constants.SERVICE_RANKING));
        assertEquals(1_000_000, reference.getProperty("maxEntries"));
    }

    @Test
    public void updatingTheConfigurationUpdatesTheServiceAndKeepsTheKeys() throws Exception {
        org.osgi.service.cm.Configuration configuration = configureMemoryKeystore("beta", Map.of(
                KeystoreProperties.NAME, "beta",
                KeystoreProperties.TIERS, new String[] {"L4"},
                Constants.SERVICE_RANKING, 1));
        ServiceReference<Keystore> before = awaitKeystoreReference("beta");
        Keystore keystore = awaitKeystore("beta");
        KeyId id = KeyId.of("kept", 1);
        keystore.storeKey(id, record(2), metadata(id, KeyType.L4));

        configuration.update(dictionary(Map.of(
                KeystoreProperties.NAME, "beta-renamed",
                KeystoreProperties.TIERS, new String[] {"L3", "L4"},
                KeystoreProperties.REGIONS, new String[] {"us-east-1"},
                Constants.SERVICE_RANKING, 20)));

        ServiceReference<Keystore> after = awaitKeystoreReference("beta-renamed");
        assertEquals("modified in place, not registered anew",
                before.getProperty(Constants.SERVICE_ID), after.getProperty(Constants.SERVICE_ID));
        assertArrayEquals(new String[] {"L3", "L4"}, (String[]) after.getProperty(KeystoreProperties.TIERS));
        assertArrayEquals(new String[] {"us-east-1"}, (String[]) after.getProperty(KeystoreProperties.REGIONS));
        assertEquals(20, after.getProperty(Constants.SERVICE_RANKING));
        assertEquals(List.of(), keystoreReferences("beta"));
        assertEquals("the keys survive a configuration change", record(2), keystore.retrieveKey(id).sealed());
        // and the new tiers are in force
        KeyId l3 = KeyId.of("now-accepted", 1);
        keystore.storeKey(l3, record(3), metadata(l3, KeyType.L3));
    }

    @Test
    public void deletingTheConfigurationRemovesTheKeystoreAndWipesIt() throws Exception {
        org.osgi.service.cm.Configuration configuration =
                configureMemoryKeystore("gamma", Map.of(KeystoreProperties.NAME, "gamma"));
        Keystore keystore = awaitKeystore("gamma");
        KeyId id = KeyId.of("doomed", 1);
        keystore.storeKey(id, record(4), metadata(id, KeyType.L3));

        configuration.delete();

        awaitNoKeystore("gamma");
        awaitDeactivated(keystore);
    }

    @Test
    public void stoppingTheBackendBundleRemovesTheKeystore() throws Exception {
        configureMemoryKeystore("delta", Map.of(KeystoreProperties.NAME, "delta"));
        Keystore keystore = awaitKeystore("delta");
        KeyId id = KeyId.of("volatile", 1);
        keystore.storeKey(id, record(5), metadata(id, KeyType.L3));

        installedBundle(MEMORY_BSN).stop();

        awaitNoKeystore("delta");
        awaitDeactivated(keystore);
        assertEquals(Bundle.ACTIVE, installedBundle(API_BSN).getState());

        // started again, the configuration still there: a new, empty instance
        installedBundle(MEMORY_BSN).start();
        Keystore restarted = awaitKeystore("delta");
        assertThrows(KeyNotFoundException.class, () -> restarted.retrieveKey(id));
    }

    @Test
    public void uninstallingTheBackendBundleRemovesTheKeystore() throws Exception {
        configureMemoryKeystore("epsilon", Map.of(KeystoreProperties.NAME, "epsilon"));
        Keystore keystore = awaitKeystore("epsilon");
        KeyId id = KeyId.of("gone", 1);
        keystore.storeKey(id, record(6), metadata(id, KeyType.L3));

        installedBundle(MEMORY_BSN).uninstall();

        awaitNoKeystore("epsilon");
        awaitDeactivated(keystore);
        assertEquals("the api bundle is not taken down with a backend", Bundle.ACTIVE, installedBundle(API_BSN).getState());
    }

    @Test
    public void zeroMaxEntriesYieldsNoKeystore() throws Exception {
        assertRefusedConfiguration("zeta", Map.of(KeystoreProperties.NAME, "zeta", "maxEntries", 0),
                "invalid maxEntries: must be at least 1");
    }

    @Test
    public void unknownTierYieldsNoKeystore() throws Exception {
        assertRefusedConfiguration("eta",
                Map.of(KeystoreProperties.NAME, "eta", KeystoreProperties.TIERS, new String[] {"L2", "L9"}),
                "invalid keystore.tiers[1]: must be one of L2, L3, L4");
    }

    @Test
    public void anInvalidUpdateKeepsTheKeysAndReportsDownUntilFixed() throws Exception {
        org.osgi.service.cm.Configuration configuration =
                configureMemoryKeystore("theta", Map.of(KeystoreProperties.NAME, "theta", "maxEntries", 5));
        Keystore keystore = awaitKeystore("theta");
        KeyId id = KeyId.of("survivor", 1);
        keystore.storeKey(id, record(8), metadata(id, KeyType.L3));

        configuration.update(dictionary(Map.of(KeystoreProperties.NAME, "theta", "maxEntries", 0)));

        // SCR goes on with the instance whose @Modified refused the configuration
        awaitCondition("the instance to report the refused configuration", () -> !keystore.health().isUp());
        assertTrue(keystore.health().reason().orElseThrow().contains("invalid maxEntries"));
        assertEquals(record(8), keystore.retrieveKey(id).sealed());

        configuration.update(dictionary(Map.of(KeystoreProperties.NAME, "theta", "maxEntries", 6)));
        awaitCondition("the instance to take the fixed configuration", () -> keystore.health().isUp());
        assertEquals(record(8), keystore.retrieveKey(id).sealed());
    }

    @Test
    public void twoConfigurationsAreTwoIndependentKeystores() throws Exception {
        configureMemoryKeystore("one", Map.of(KeystoreProperties.NAME, "one"));
        configureMemoryKeystore("two", Map.of(KeystoreProperties.NAME, "two", Constants.SERVICE_RANKING, 5));
        Keystore one = awaitKeystore("one");
        Keystore two = awaitKeystore("two");
        KeyId id = KeyId.of("only-in-one", 1);

        one.storeKey(id, record(7), metadata(id, KeyType.L3));

        assertEquals(1, one.listKeys(KeyFilter.all()).keys().size());
        assertThrows(KeyNotFoundException.class, () -> two.retrieveKey(id));
        assertEquals(List.of(), two.listKeys(KeyFilter.all()).keys());
    }

    // ---- helpers ----

    /**
     * A configuration that breaks a rule fails the component's activation, with the rule in SCR's
     * failure report, and no caller can get a Keystore from it. Fixing the configuration brings
     * the keystore up.
     */
    private void assertRefusedConfiguration(String name, Map<String, Object> properties, String expectedError)
            throws Exception {
        org.osgi.service.cm.Configuration configuration = configureMemoryKeystore(name, properties);

        awaitCondition("SCR to report the failed activation of " + configuration.getPid(), () -> {
            ComponentConfigurationDTO dto = memoryComponentConfiguration(configuration);
            return dto != null && dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION;
        });
        ComponentConfigurationDTO failed = memoryComponentConfiguration(configuration);
        assertNotNull(failed.failure);
        assertTrue(failed.failure, failed.failure.contains(expectedError));

        // SCR keeps the registration of a component whose activation failed; no caller gets an object from it
        for (ServiceReference<Keystore> reference : keystoreReferences(name)) {
            assertNull("no Keystore may be obtained from a refused configuration", bundleContext.getService(reference));
        }

        // fixed, the same configuration gives a working keystore
        configuration.update(dictionary(Map.of(KeystoreProperties.NAME, name)));
        Keystore keystore = awaitKeystore(name);
        assertTrue(keystore.health().isUp());
    }

    /** SCR unregisters the service first and deactivates the instance after: wait for both. */
    private static void awaitDeactivated(Keystore keystore) throws InterruptedException {
        awaitCondition("the keystore instance to be deactivated", () -> !keystore.health().isUp());
        KeystoreHealth health = keystore.health();
        assertEquals("deactivated", health.reason().orElse(null));
        assertThrows("a deactivated keystore holds nothing", UnavailableException.class,
                () -> keystore.listKeys(KeyFilter.all()));
    }

    private static SealedKey record(int seed) {
        byte[] bytes = new byte[48];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (seed * 31 + i);
        }
        return SealedKey.of(bytes);
    }

    private static KeyMetadata metadata(KeyId id, KeyType type) {
        return KeyMetadata.builder()
                .id(id)
                .type(type)
                .algorithm("AES")
                .keySize(256)
                .owner(Owner.tenant("acme"))
                .createdAt(T0)
                .build();
    }
}
