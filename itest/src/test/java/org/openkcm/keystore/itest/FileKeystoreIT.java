package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
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
 * The encrypted-file backend in a real framework: a factory configuration brings up a Keystore
 * that serves keys from files, the keys outlive a restart of the bundle, and a second
 * configuration on the same folder, or a bad one, fails activation with a clear error and no
 * usable service.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class FileKeystoreIT extends KeystoreTestSupport {
    private static final String FILE_PID = "org.openkcm.keystore.file";
    private static final String FILE_BSN = "org.openkcm.keystore.keystore-file";
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Configuration
    public Option[] configuration() {
        return options(baseConfiguration(), buildBundle("log"), buildBundle("keystore-file"));
    }

    @Test
    public void aFactoryConfigurationServesKeysFromFilesThatOutliveTheBundle() throws Exception {
        Path folder = Files.createTempDirectory(Files.createDirectories(Path.of("target", "file-keystore-it").toAbsolutePath()), "keys");
        configure("vault", Map.of(KeystoreProperties.NAME, "vault",
                KeystoreProperties.TIERS, new String[] {"L2", "L3"},
                Constants.SERVICE_RANKING, 3,
                "path", folder.toString()));

        ServiceReference<Keystore> reference = awaitKeystoreReference("vault");
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) reference.getProperty(KeystoreProperties.TIERS));
        assertEquals(3, reference.getProperty(Constants.SERVICE_RANKING));
        assertEquals(Boolean.TRUE, reference.getProperty("keystore.persistent"));
        assertEquals(folder.toRealPath().toString(), reference.getProperty("keystore.location"));
        assertEquals(FILE_BSN, reference.getBundle().getSymbolicName());
        Keystore keystore = awaitService(reference);
        KeyId id = KeyId.of("tenant-kek", 1);
        keystore.storeKey(id, record(1), metadata(id));
        assertEquals(record(1), keystore.retrieveKey(id).sealed());
        assertTrue(Files.isRegularFile(folder.resolve("tenant/acme/tenant-kek/1.rec")));
        assertTrue(keystore.health().isUp());

        installedBundle(FILE_BSN).stop();
        awaitNoKeystore("vault");
        installedBundle(FILE_BSN).start();

        Keystore restarted = awaitKeystore("vault");
        assertEquals("the key survives a restart of the bundle", record(1), restarted.retrieveKey(id).sealed());
        assertEquals(metadata(id), restarted.retrieveKey(id).metadata());
    }

    @Test
    public void aSecondConfigurationOnTheSameFolderIsRefusedNamingIt() throws Exception {
        Path folder = Files.createTempDirectory(Files.createDirectories(Path.of("target", "file-keystore-it").toAbsolutePath()), "keys");
        configure("first", Map.of(KeystoreProperties.NAME, "first", "path", folder.toString()));
        Keystore first = awaitKeystore("first");

        org.osgi.service.cm.Configuration second =
                configure("second", Map.of(KeystoreProperties.NAME, "second", "path", folder.toString()));

        ComponentConfigurationDTO failed = awaitFailedActivation(second);
        assertTrue(failed.failure, failed.failure.contains("the key folder " + folder.toRealPath()
                + " is in use by another keystore runtime"));
        assertEquals("the refused instance registers nothing", List.of(), keystoreReferences("second"));
        KeyId id = KeyId.of("k", 1);
        first.storeKey(id, record(2), metadata(id));
        assertEquals(record(2), first.retrieveKey(id).sealed());

        // once the first goes, the folder is free for the second
        configurationFor("first").delete();
        awaitNoKeystore("first");
        second.update(dictionary(Map.of(KeystoreProperties.NAME, "second", "path", folder.toString())));
        Keystore taken = awaitKeystore("second");
        assertEquals(record(2), taken.retrieveKey(id).sealed());
    }

    @Test
    public void aRelativePathIsRefusedNamingTheAttribute() throws Exception {
        org.osgi.service.cm.Configuration configuration =
                configure("relative", Map.of(KeystoreProperties.NAME, "relative", "path", "data/keys"));

        ComponentConfigurationDTO failed = awaitFailedActivation(configuration);
        assertTrue(failed.failure, failed.failure.contains("invalid path: must be an absolute path"));
        assertEquals(List.of(), keystoreReferences("relative"));
        assertEquals(Bundle.ACTIVE, installedBundle(FILE_BSN).getState());
    }

    // ---- helpers ----

    private final java.util.Map<String, org.osgi.service.cm.Configuration> configured = new java.util.HashMap<>();

    private org.osgi.service.cm.Configuration configure(String name, Map<String, Object> properties) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getFactoryConfiguration(FILE_PID, name, "?");
        configuration.update(dictionary(properties));
        configured.put(name, configuration);
        return configuration;
    }

    private org.osgi.service.cm.Configuration configurationFor(String name) {
        return configured.get(name);
    }

    private ComponentConfigurationDTO awaitFailedActivation(org.osgi.service.cm.Configuration configuration)
            throws InterruptedException {
        ComponentDescriptionDTO description =
                serviceComponentRuntime.getComponentDescriptionDTO(installedBundle(FILE_BSN), FILE_PID);
        assertNotNull("SCR does not know " + FILE_PID, description);
        ComponentConfigurationDTO[] found = new ComponentConfigurationDTO[1];
        awaitCondition("SCR to report the failed activation of " + configuration.getPid(), () -> {
            for (ComponentConfigurationDTO dto : serviceComponentRuntime.getComponentConfigurationDTOs(description)) {
                if (configuration.getPid().equals(dto.properties.get("service.pid"))
                        && dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                    found[0] = dto;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private static SealedKey record(int seed) {
        byte[] bytes = new byte[48];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (seed * 31 + i);
        }
        return SealedKey.of(bytes);
    }

    private static KeyMetadata metadata(KeyId id) {
        return KeyMetadata.builder().id(id).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).createdAt(T0).build();
    }
}
