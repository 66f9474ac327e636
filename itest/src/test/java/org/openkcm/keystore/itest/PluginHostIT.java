package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The plugin host in a plain Felix with SCR and ConfigAdmin: the bundle resolves importing no
 * io.grpc, protobuf or BouncyCastle package; a factory configuration starts the Go example plugin
 * and registers a working Keystore; a checksum mismatch fails that configuration with one line and
 * registers nothing.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class PluginHostIT extends KeystoreTestSupport {
    private static final String HOST_BSN = "org.openkcm.keystore.keystore-plugins";
    private static final String PLUGIN_PID = "org.openkcm.keystore.plugin";
    private static final String PLUGIN = "itest.plugin.memory";
    /** The persistent example plugin, built as version 1 and as version 2 (two checksums). */
    private static final String FILE_PLUGIN = "itest.plugin.file";
    private static final String FILE_PLUGIN_V2 = "itest.plugin.file.v2";

    @Configuration
    public Option[] configuration() {
        // The host logs (and copies plugin stderr) through the OSGi Log Service, which it imports.
        return options(baseConfiguration(), buildBundle("log"), buildBundle("keystore-plugins"),
                systemProperty(PLUGIN).value(System.getProperty(PLUGIN)),
                systemProperty(FILE_PLUGIN).value(System.getProperty(FILE_PLUGIN)),
                systemProperty(FILE_PLUGIN_V2).value(System.getProperty(FILE_PLUGIN_V2)));
    }

    @Test
    public void theBundleResolvesWithItsLibrariesEmbedded() {
        Bundle host = installedBundle(HOST_BSN);
        assertEquals(Bundle.ACTIVE, host.getState());
        String imports = host.getHeaders().get(Constants.IMPORT_PACKAGE);
        for (String embedded : List.of("io.grpc", "com.google.protobuf", "org.bouncycastle")) {
            assertFalse(embedded + " is embedded, not imported: " + imports, imports.contains(embedded + ";")
                    || imports.contains(embedded + ","));
        }
        assertEquals(null, host.getHeaders().get(Constants.EXPORT_PACKAGE));
    }

    @Test
    public void aConfigurationStartsThePluginAndRegistersAWorkingKeystore() throws Exception {
        Map<String, Object> properties = pluginConfiguration("go-memory-itest", sha256(pluginPath()));
        org.osgi.service.cm.Configuration configuration = configure("working", properties);

        ServiceReference<Keystore> reference = awaitKeystoreReference("go-memory-itest");
        assertEquals(HOST_BSN, reference.getBundle().getSymbolicName());
        Keystore keystore = awaitService(reference);
        try {
            assertTrue(keystore.health().toString(), keystore.health().isUp());
            KeyId id = KeyId.of("through-a-plugin", 1);
            KeyMetadata metadata = KeyMetadata.builder().id(id).type(KeyType.L4).algorithm("AES").keySize(256)
                    .owner(Owner.node("edge-1")).createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
            SealedKey sealed = SealedKey.of(new byte[] {9, 8, 7});
            keystore.storeKey(id, sealed, metadata);
            assertEquals(StoredKey.of(sealed, metadata), keystore.retrieveKey(id));
        } finally {
            bundleContext.ungetService(reference);
        }

        configuration.delete();
        awaitNoKeystore("go-memory-itest");
    }

    @Test
    public void aNewExecutableInTheConfigurationSwapsInBehindTheSameService() throws Exception {
        Path version1 = Path.of(System.getProperty(FILE_PLUGIN));
        Path version2 = Path.of(System.getProperty(FILE_PLUGIN_V2));
        Path keys = Files.createTempDirectory("plugin-swap-it");
        Map<String, Object> properties = pluginConfiguration("go-file-itest", sha256(version1));
        properties.put("plugin.path", version1.toString());
        properties.put("settings.dir", keys.toString());
        org.osgi.service.cm.Configuration configuration = configure("swapped", properties);

        ServiceReference<Keystore> before = awaitKeystoreReference("go-file-itest");
        Object serviceId = before.getProperty(Constants.SERVICE_ID);
        Keystore keystore = awaitService(before);
        KeyId id = KeyId.of("kept-across-the-swap", 1);
        KeyMetadata metadata = KeyMetadata.builder().id(id).type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.node("edge-1")).createdAt(Instant.parse("2026-01-01T00:00:00Z")).build();
        SealedKey sealed = SealedKey.of(new byte[] {4, 5, 6});
        keystore.storeKey(id, sealed, metadata);

        properties.put("plugin.path", version2.toString());
        properties.put("plugin.sha256", sha256(version2));
        configuration.update(dictionary(properties));

        awaitCondition("the service to forward to version 2", () -> {
            List<ServiceReference<Keystore>> now = keystoreReferences("go-file-itest");
            return now.size() == 1 && version2.toString().equals(now.get(0).getProperty("keystore.plugin.path"));
        });
        ServiceReference<Keystore> after = keystoreReferences("go-file-itest").get(0);
        assertEquals("the same service, not a re-registration", serviceId, after.getProperty(Constants.SERVICE_ID));
        assertEquals(StoredKey.of(sealed, metadata), keystore.retrieveKey(id));
        bundleContext.ungetService(before);
        configuration.delete();
        awaitNoKeystore("go-file-itest");
    }

    @Test
    public void aChecksumMismatchFailsThatConfigurationAlone() throws Exception {
        org.osgi.service.cm.Configuration configuration =
                configure("mismatch", pluginConfiguration("go-memory-mismatch", "0".repeat(64)));

        awaitCondition("SCR to report the refused configuration", () -> {
            ComponentConfigurationDTO dto = configurationDto(configuration);
            return dto != null && dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION;
        });
        String failure = configurationDto(configuration).failure;
        assertTrue(failure, failure.contains("not the configured plugin.sha256 " + "0".repeat(64) + "; refused"));
        assertEquals(List.of(), keystoreReferences("go-memory-mismatch"));
        configuration.delete();
    }

    private static Path pluginPath() {
        return Path.of(System.getProperty(PLUGIN));
    }

    private static Map<String, Object> pluginConfiguration(String name, String sha256) {
        Map<String, Object> properties = new HashMap<>();
        properties.put("plugin.path", pluginPath().toString());
        properties.put("plugin.sha256", sha256);
        properties.put(KeystoreProperties.NAME, name);
        properties.put(KeystoreProperties.TIERS, new String[] {"L4"});
        return properties;
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            digest.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private org.osgi.service.cm.Configuration configure(String name, Map<String, Object> properties) throws IOException {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getFactoryConfiguration(PLUGIN_PID, name, "?");
        configuration.update(dictionary(properties));
        return configuration;
    }

    private ComponentConfigurationDTO configurationDto(org.osgi.service.cm.Configuration configuration) {
        for (ComponentDescriptionDTO description : serviceComponentRuntime.getComponentDescriptionDTOs()) {
            if (description.name.equals(PLUGIN_PID)) {
                for (ComponentConfigurationDTO dto : serviceComponentRuntime.getComponentConfigurationDTOs(description)) {
                    if (configuration.getPid().equals(dto.properties.get(Constants.SERVICE_PID))) {
                        return dto;
                    }
                }
            }
        }
        return null;
    }
}
