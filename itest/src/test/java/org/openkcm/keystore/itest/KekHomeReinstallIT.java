package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * With {@code openkcm.home} set, the core's KEK file and known-KEK record are in
 * {@code ${openkcm.home}/data/kek/}: uninstalling the core bundle (which deletes its data area)
 * and installing it again keeps the same KEK, and every record sealed before still opens to the
 * same material.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KekHomeReinstallIT extends KekTestSupport {
    private static final String CORE_BSN = "org.openkcm.keystore.core";
    private static final int KEYS = 5;

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration(freshHome("kek-home-reinstall-it")));
    }

    @Test
    public void uninstallingAndInstallingTheCoreBundleKeepsTheKekAndEveryRecordOpens() throws Exception {
        Path folder = Path.of(bundleContext.getProperty("openkcm.home")).resolve("data/kek");
        // the in-memory backend, registered as the persistent "memory" (a volatile default target refuses L2)
        memoryBackend("memory-raw", 0);
        Keystore memory = awaitKeystore("memory-raw");
        register("memory", 0, new FaultyKeystore(memory));
        KeystoreOperations ops = operations();
        Map<KeyId, byte[]> materials = new LinkedHashMap<>();
        for (int i = 0; i < KEYS; i++) {
            KeyId id = awaitGenerate(ops, "key-" + i);
            materials.put(id, material(ops, id));
            assertEquals("local", recordKekId(memory, id));
        }
        byte[] kek = Files.readAllBytes(folder.resolve("local.kek"));
        String pins = Files.readString(folder.resolve("known-keks"));
        assertTrue(pins, pins.contains("local 1 "));
        Bundle core = installedBundle(CORE_BSN);
        assertFalse("nothing in the bundle data area", Files.exists(core.getDataFile("kek").toPath()));

        String location = core.getLocation();
        core.uninstall();
        Bundle again = bundleContext.installBundle(location);
        again.start();
        assertTrue("a new bundle, so a new data area", again.getBundleId() != core.getBundleId());

        awaitKekIds("local");
        KeystoreOperations reinstalled = operations();
        for (Map.Entry<KeyId, byte[]> e : materials.entrySet()) {
            assertArrayEquals(e.getKey().toString(), e.getValue(), material(reinstalled, e.getKey()));
        }
        assertArrayEquals("the same KEK file", kek, Files.readAllBytes(folder.resolve("local.kek")));
        assertEquals("the same pins", pins, Files.readString(folder.resolve("known-keks")));
        KeyId later = awaitGenerate(reinstalled, "after-reinstall");
        assertEquals("local", recordKekId(memory, later));
        assertFalse(Files.exists(again.getDataFile("kek").toPath()));
    }
}
