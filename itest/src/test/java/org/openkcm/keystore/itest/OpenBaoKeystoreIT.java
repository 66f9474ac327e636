package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
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
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
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
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The OpenBao backend in a plain Felix with SCR and ConfigAdmin, against a real
 * {@code bao server -dev}: the bundle resolves with nothing imported but the api and Bouncy
 * Castle (and the framework's own packages; vault-java-driver is embedded), a factory configuration brings up a
 * working Keystore with its service properties (the component's defaults for those it does not give),
 * and no caller can obtain a Keystore from a refused configuration (SCR keeps the registration of
 * the declared service, its activation FAILED_ACTIVATION with the message naming the property).
 * <p>
 * The dev server is started outside the framework, by the configuration method, from the
 * {@code bao} binary that the backend module's build installed next to its bundle
 * ({@code bundles/keystore-openbao/target/bao-venv}); it is stopped when the JVM exits.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OpenBaoKeystoreIT extends KeystoreTestSupport {
    private static final String ADDRESS = "itest.openbao.address";
    private static final String TOKEN_FILE = "itest.openbao.token.file";
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Configuration
    public Option[] configuration() {
        File bundleFile = OpenBaoDevServer.bundleFile();
        OpenBaoDevServer server = OpenBaoDevServer.start(bundleFile.toPath().getParent());
        return options(
                baseConfiguration(),
                bouncyCastle(),
                bundle(bundleFile.toURI().toString()),
                systemProperty(ADDRESS).value(server.address),
                systemProperty(TOKEN_FILE).value(server.tokenFile.toString()),
                // the secret allow-list is on: the token file's own folder is the allowed secrets folder
                frameworkProperty("openkcm.secrets.dir").value(server.tokenFile.getParent().toString()));
    }

    @Test
    public void theBundleResolvesWithOnlyTheApiAndBouncyCastleImported() {
        Bundle openbao = installedBundle(OPENBAO_BSN);
        assertEquals(Bundle.ACTIVE, openbao.getState());
        String imports = openbao.getHeaders().get(Constants.IMPORT_PACKAGE);
        assertFalse("vault-java-driver is embedded, not imported: " + imports, imports.contains("io.github"));
        Bundle api = installedBundle(API_BSN);
        for (BundleWire wire : openbao.adapt(BundleWiring.class).getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE)) {
            Bundle provider = wire.getProvider().getBundle();
            // Bouncy Castle's bundles read the PEM files of the TLS settings
            assertTrue("package " + wire.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE)
                    + " comes from " + provider.getSymbolicName() + ": only the api, Bouncy Castle and the framework"
                    + " may provide", provider.equals(api) || provider.getBundleId() == 0
                            || List.of("bcprov", "bcutil", "bcpkix").contains(provider.getSymbolicName()));
        }
        ComponentDescriptionDTO description = openBaoComponent();
        assertArrayEquals(new String[] {OPENBAO_PID}, description.configurationPid);
        assertEquals("require", description.configurationPolicy);
        assertEquals("no configuration, no keystore", List.of(), keystoreReferences("*"));
    }

    @Test
    public void aFactoryConfigurationBringsUpAWorkingKeystore() throws Exception {
        Map<String, Object> properties = baoConfiguration("itest-working");
        properties.put(KeystoreProperties.NAME, "bao-itest");
        properties.put(KeystoreProperties.TIERS, new String[] {"L2", "L3"});
        properties.put(KeystoreProperties.REGIONS, new String[] {"eu-west-1"});
        properties.put(Constants.SERVICE_RANKING, 5);
        org.osgi.service.cm.Configuration configuration = configure("working", properties);

        ServiceReference<Keystore> reference = awaitKeystoreReference("bao-itest");
        assertEquals(OPENBAO_BSN, reference.getBundle().getSymbolicName());
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) reference.getProperty(KeystoreProperties.TIERS));
        assertArrayEquals(new String[] {"eu-west-1"}, (String[]) reference.getProperty(KeystoreProperties.REGIONS));
        assertEquals(5, reference.getProperty(Constants.SERVICE_RANKING));
        String tokenFile = System.getProperty(TOKEN_FILE);
        assertEquals("the token source is published as the reference it is", "file:" + tokenFile,
                reference.getProperty("token.source"));
        String token = java.nio.file.Files.readString(java.nio.file.Path.of(tokenFile)).strip();
        for (String key : reference.getPropertyKeys()) {
            assertFalse("the token is in no service property: " + key,
                    String.valueOf(reference.getProperty(key)).contains(token));
        }

        Keystore keystore = awaitService(reference);
        try {
            assertTrue(keystore.health().toString(), keystore.health().isUp());
            KeyId id = KeyId.of("in-felix", 1);
            KeyMetadata metadata = KeyMetadata.builder().id(id).type(KeyType.L2).algorithm("AES").keySize(256)
                    .owner(Owner.tenant("acme")).createdAt(T0).build();
            SealedKey sealed = SealedKey.of(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
            keystore.storeKey(id, sealed, metadata);
            assertEquals(StoredKey.of(sealed, metadata), keystore.retrieveKey(id));
            assertEquals(List.of(metadata), keystore.listKeys(KeyFilter.all()).keys());
            assertTrue(keystore.deleteKey(id));
            assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(id));
        } finally {
            bundleContext.ungetService(reference);
        }

        configuration.delete();
        awaitNoKeystore("bao-itest");
    }

    @Test
    public void aConfigurationWithoutNameOrTiersIsRegisteredAsOpenbaoForL2AndL3() throws Exception {
        org.osgi.service.cm.Configuration configuration = configure("defaults", baoConfiguration("itest-defaults"));

        ServiceReference<Keystore> reference = awaitKeystoreReference("openbao");
        assertEquals(configuration.getPid(), reference.getProperty(Constants.SERVICE_PID));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) reference.getProperty(KeystoreProperties.TIERS));
        assertEquals(0, reference.getProperty(Constants.SERVICE_RANKING));
        Keystore keystore = awaitService(reference);
        try {
            assertTrue(keystore.health().toString(), keystore.health().isUp());
        } finally {
            bundleContext.ungetService(reference);
        }

        configuration.delete();
        awaitNoKeystore("openbao");
    }

    @Test
    public void aRefusedConfigurationFailsActivationAndNoKeystoreCanBeObtained() throws Exception {
        Map<String, Object> properties = baoConfiguration("itest-refused");
        properties.put(KeystoreProperties.NAME, "bao-refused");
        properties.put("token.source", "s.a-token-pasted-into-the-cfg");
        org.osgi.service.cm.Configuration configuration = configure("refused", properties);

        String failure = assertRefusedBackend(() -> openBaoComponentConfiguration(configuration), "bao-refused",
                "token.source must be a reference");
        assertFalse("the secret is not echoed: " + failure, failure.contains("a-token-pasted-into-the-cfg"));
        // What the registration SCR keeps carries: the configuration's properties as ConfigAdmin holds them,
        // a value pasted where a reference belongs included (it is refused, never used; README, OpenBao section)
        List<ServiceReference<Keystore>> kept = keystoreReferences("bao-refused");
        assertEquals(1, kept.size());
        assertEquals("s.a-token-pasted-into-the-cfg", kept.get(0).getProperty("token.source"));

        // Fixed, the same configuration gives a working keystore.
        String fixed = "file:" + System.getProperty(TOKEN_FILE);
        properties.put("token.source", fixed);
        configuration.update(dictionary(properties));
        Keystore keystore = awaitActivated(() -> openBaoComponentConfiguration(configuration), "token.source", fixed,
                "bao-refused");
        assertTrue(keystore.health().toString(), keystore.health().isUp());
        configuration.delete();
        awaitNoKeystore("bao-refused");
    }

    // ---- helpers ----

    private static Map<String, Object> baoConfiguration(String prefix) {
        Map<String, Object> properties = new HashMap<>();
        properties.put("address", System.getProperty(ADDRESS));
        properties.put("token.source", "file:" + System.getProperty(TOKEN_FILE));
        properties.put("path.prefix", prefix);
        return properties;
    }

    private org.osgi.service.cm.Configuration configure(String name, Map<String, Object> properties)
            throws IOException {
        org.osgi.service.cm.Configuration configuration =
                configurationAdmin.getFactoryConfiguration(OPENBAO_PID, name, "?");
        configuration.update(dictionary(properties));
        return configuration;
    }
}
