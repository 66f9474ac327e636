package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KekProvider;
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
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * A plain OSGi embedding without {@code openkcm.home} (nor {@code karaf.data}) and without a
 * configured path: the core keeps no KEK in its bundle data area, which an uninstall deletes. The
 * known-KEK record and the file KEK refuse to start with one error naming {@code openkcm.home} and
 * the PID's {@code path}, nothing is sealed and nothing is written; configuring the two paths
 * makes it work, with the files where they were configured.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KekWithoutHomeIT extends KekTestSupport {
    private static final String CORE_BSN = "org.openkcm.keystore.core";
    private static final String KNOWN_PID = "org.openkcm.keystore.kek.known";
    private static final String FILE_PID = "org.openkcm.keystore.kek.file";
    private static final String LOCAL = "(" + KekProvider.KEK_ID + "=local)";

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration(null));
    }

    @Test
    public void withoutHomeOrPathTheFileKekRefusesNamingBothAndNothingIsSealedOrWrittenUntilPathsAreSet()
            throws Exception {
        assertNull(bundleContext.getProperty("openkcm.home"));
        assertNull(bundleContext.getProperty("karaf.data"));
        // the in-memory backend, registered as the persistent "memory" (a volatile default target refuses L2)
        memoryBackend("memory-raw", 0);
        Keystore memory = awaitKeystore("memory-raw");
        register("memory", 0, new FaultyKeystore(memory));
        Bundle core = installedBundle(CORE_BSN);

        // the file KEK's registration is there (a delayed component), but it cannot be got: its activation failed
        ServiceReference<KekProvider> local = awaitRegistration(KekProvider.class, LOCAL);
        assertNull("the file KEK is not offered", bundleContext.getService(local));
        awaitFailed(core, KNOWN_PID, "invalid " + KNOWN_PID + " path: is not "
                + "set, and neither the framework property openkcm.home nor karaf.data is: set openkcm.home (the "
                + "known-KEK record is then ${openkcm.home}/data/kek/known-keks) or the 'path' of " + KNOWN_PID + "; it "
                + "is never kept in the core bundle's data area, which an uninstall of the bundle deletes");

        // nothing seals: the operations need the record too
        ServiceReference<KeystoreOperations> operations = awaitRegistration(KeystoreOperations.class, "");
        assertNull("no KeystoreOperations without the known-KEK record", bundleContext.getService(operations));
        assertEquals("nothing was stored", 0, count(memory));
        assertFalse("nothing in the core bundle's data area", Files.exists(core.getDataFile("kek").toPath()));

        // the record's path alone: now the file KEK refuses with its own error, and still writes nothing
        Path folder = freshHome("kek-without-home").resolve("kek");
        configure(KNOWN_PID, Map.of("path", folder.resolve("known-keks").toString()));
        awaitFailed(core, FILE_PID, "invalid " + FILE_PID + " path: is not set, "
                + "and neither the framework property openkcm.home nor karaf.data is: set openkcm.home (the KEK file is "
                + "then ${openkcm.home}/data/kek/local.kek) or the 'path' of " + FILE_PID + "; it is never kept in the "
                + "core bundle's data area");
        assertFalse("no KEK file anywhere", Files.exists(folder.resolve("local.kek")));
        assertFalse(Files.exists(core.getDataFile("kek").toPath()));
        assertEquals(0, count(memory));

        // both paths: the KEK is created there, keys are sealed under it, and the data area stays empty
        configure(FILE_PID, Map.of("path", folder.resolve("local.kek").toString()));
        awaitKekIds("local");
        KeystoreOperations ops = operations();
        KeyId id = awaitGenerate(ops, "configured");
        assertEquals("local", recordKekId(memory, id));
        assertArrayEquals(material(ops, id), material(ops, id));
        assertTrue(Files.isRegularFile(folder.resolve("local.kek")));
        assertTrue(Files.readString(folder.resolve("known-keks")).contains("local 1 "));
        assertFalse(Files.exists(core.getDataFile("kek").toPath()));
    }

    /**
     * Waits until SCR reports the component's activation failed with {@code reason}; asks for the
     * file KEK at each poll, since a delayed component activates only when it is asked for.
     */
    private void awaitFailed(Bundle core, String component, String reason) throws InterruptedException {
        ComponentDescriptionDTO description = serviceComponentRuntime.getComponentDescriptionDTO(core, component);
        assertNotNull(component, description);
        awaitCondition(component + " to fail its activation with: " + reason, () -> {
            askForTheFileKek();
            for (ComponentConfigurationDTO dto : serviceComponentRuntime.getComponentConfigurationDTOs(description)) {
                if (dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION && dto.failure != null
                        && dto.failure.contains(reason)) {
                    return true;
                }
            }
            return false;
        });
    }

    private void askForTheFileKek() {
        try {
            for (ServiceReference<KekProvider> ref : bundleContext.getServiceReferences(KekProvider.class, LOCAL)) {
                assertNull("the file KEK is not offered", bundleContext.getService(ref));
            }
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
