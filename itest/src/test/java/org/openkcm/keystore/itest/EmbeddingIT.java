package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleWiring;

/**
 * The embedding recipe of the README: a KMS appliance installs exactly the api, the core, a
 * backend and their dependencies (SCR with its API bundles, ConfigAdmin, an OSGi log service,
 * Caffeine for the core's key caches, a required import) into
 * its own Felix, configures one backend instance, and uses {@link KeystoreOperations}. No shell,
 * no config bundle, no runtime.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class EmbeddingIT extends KeystoreTestSupport {

    @Configuration
    public Option[] configuration() {
        return options(baseConfiguration(), buildBundle("log"), buildBundle("caffeine"), buildBundle("core"),
                homeProperty(freshHome("embedding-it")));
    }

    @Test
    public void anApplianceUsesKeystoreOperationsWithOnlyTheDocumentedBundles() throws Exception {
        List<String> ours = Arrays.stream(bundleContext.getBundles())
                .map(Bundle::getSymbolicName)
                .filter(name -> name.startsWith("org.openkcm."))
                .sorted()
                .collect(Collectors.toList());
        assertEquals(List.of(API_BSN, "org.openkcm.keystore.core", MEMORY_BSN), ours);
        for (String bsn : ours) {
            assertEquals(bsn + " should be ACTIVE", Bundle.ACTIVE, installedBundle(bsn).getState());
        }
        // the core is wired to Caffeine's packages: its key caches are there wherever it resolves
        List<String> caffeineImports = installedBundle("org.openkcm.keystore.core").adapt(BundleWiring.class)
                .getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE).stream()
                .filter(wire -> wire.getProvider().getBundle().getSymbolicName().equals("com.github.ben-manes.caffeine"))
                .map(wire -> (String) wire.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE))
                .sorted()
                .collect(Collectors.toList());
        assertTrue("core imports Caffeine: " + caffeineImports,
                caffeineImports.contains("com.github.benmanes.caffeine.cache"));

        configureMemoryKeystore("default", Map.of(KeystoreProperties.NAME, "memory"));
        // the in-memory backend is volatile: it takes L2/L3 keys only when a route names it for them
        configurationAdmin.getFactoryConfiguration("org.openkcm.keystore.route", "all-to-memory", "?")
                .update(dictionary(Map.of("tiers", new String[] {"L2", "L3", "L4"}, "target", "memory")));
        KeystoreOperations keystore = awaitService(awaitRegistration(KeystoreOperations.class, ""));
        Keystore backend = awaitKeystore("memory");

        KeySpec spec = KeySpec.builder().name("tenant-kek").type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).region("eu").tags(Map.of("env", "prod")).build();
        KeyMetadata generated = keystore.generate(spec);
        try (KeyMaterial material = keystore.get(generated.id())) {
            assertEquals(32, material.length());
        }
        assertEquals(generated, keystore.metadata(generated.id()));

        byte[] imported = new byte[32];
        Arrays.fill(imported, (byte) 0x5a);
        KeySpec importSpec = KeySpec.builder().name("edge-key").type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.node("node-1")).build();
        KeyMetadata importedKey;
        try (KeyMaterial material = KeyMaterial.copyOf(imported)) {
            importedKey = keystore.importKey(importSpec, material);
        }
        try (KeyMaterial back = keystore.get(importedKey.id())) {
            assertArrayEquals(imported, back.copyBytes());
        }
        byte[] record = backend.retrieveKey(importedKey.id()).sealed().bytes();
        assertFalse("the backend holds the material in the clear", containsBytes(record, imported));

        KeyMetadata second = keystore.rotate("tenant-kek");
        assertEquals(KeyId.of("tenant-kek", 2), second.id());
        assertEquals(KeyStatus.DEPRECATED, keystore.metadata(generated.id()).status());
        KeyMetadata retired = keystore.changeStatus(generated.id(), KeyStatus.RETIRED,
                keystore.metadata(generated.id()).revision());
        assertThrows(PolicyRefusedException.class, () -> keystore.get(retired.id()));

        List<KeyId> listed = keystore.list(KeyFilter.all()).keys().stream().map(KeyMetadata::id)
                .collect(Collectors.toList());
        assertEquals(List.of(KeyId.of("edge-key", 1), KeyId.of("tenant-kek", 1), KeyId.of("tenant-kek", 2)), listed);
        assertEquals(2, keystore.deleteAllVersions("tenant-kek"));
        assertTrue(keystore.delete(importedKey.id()));
        assertEquals(List.of(), keystore.list(KeyFilter.all()).keys());
    }
}
