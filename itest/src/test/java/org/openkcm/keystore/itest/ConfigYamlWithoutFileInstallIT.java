package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeystoreProperties;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;

/**
 * The config bundle in a framework without FileInstall (its import of the FileInstall API is
 * optional): config.yaml is read at activation, edits are not watched and no watcher
 * configuration is written, and a configuration changed in ConfigAdmin is still put back.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class ConfigYamlWithoutFileInstallIT extends KeystoreTestSupport {

    private static final String CONFIG_BSN = "org.openkcm.keystore.config";

    private final List<LogEntry> entries = new CopyOnWriteArrayList<>();
    private final LogListener listener = entry -> {
        if (CONFIG_BSN.equals(entry.getBundle().getSymbolicName())) {
            entries.add(entry);
        }
    };
    private LogReaderService logReader;

    @org.ops4j.pax.exam.Configuration
    public Option[] configuration() throws IOException {
        Path base = Files.createTempDirectory("openkcm-config-nofi-it");
        Path yaml = base.resolve("config.yaml");
        Files.writeString(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: at-activation, keystore.tiers: [L4]}\n");
        return options(
                baseConfiguration(),
                frameworkProperty("openkcm.config.yaml").value(yaml.toString()),
                buildBundle("log"),
                buildBundle("config"));
    }

    @After
    public void stopListening() {
        if (logReader != null) {
            logReader.removeLogListener(listener);
        }
    }

    @Test
    public void readAtActivationOnlyAndConfigAdminChangesArePutBack() throws Exception {
        Bundle config = installedBundle(CONFIG_BSN);
        assertTrue("no FileInstall in this framework",
                List.of(bundleContext.getBundles()).stream().noneMatch(b -> "org.apache.felix.fileinstall".equals(b.getSymbolicName())));
        awaitKeystoreReference("at-activation");
        assertNull("no watcher configuration", configurationAdmin.listConfigurations(
                "(service.factoryPid=org.apache.felix.fileinstall)"));

        // Restart the bundle while listening, to see what it says about edits.
        ServiceReference<LogReaderService> ref = bundleContext.getServiceReference(LogReaderService.class);
        assertNotNull(ref);
        logReader = bundleContext.getService(ref);
        logReader.addLogListener(listener);
        config.stop();
        config.start();
        awaitCondition("the bundle to say edits are not watched", () -> entries.stream()
                .anyMatch(e -> e.getMessage().contains("FileInstall is not installed, edits are not watched")));

        // The activation's read runs on the bundle's own thread: wait for it before the edit, or it could
        // read the edit. A deleted configuration is put back only from what was read, so its return says so.
        deleteMemoryConfigurationAndAwaitItBack();

        Path yaml = Path.of(bundleContext.getProperty("openkcm.config.yaml"));
        Files.writeString(yaml, "org.openkcm.keystore.memory:\n  default: {keystore.name: edited, keystore.tiers: [L4]}\n");
        Thread.sleep(2500); // longer than the default poll.interval: the old poller would have read it
        assertTrue("an edit is not read", keystoreReferences("edited").isEmpty());

        deleteMemoryConfigurationAndAwaitItBack();
        assertEquals("nothing refused", 0, entries.stream().filter(e -> e.getLogLevel() == org.osgi.service.log.LogLevel.ERROR).count());
    }

    /** Deletes the memory configuration config.yaml gave, and waits until the bundle puts it back as read at activation. */
    private void deleteMemoryConfigurationAndAwaitItBack() throws Exception {
        Configuration memory = configurationAdmin.listConfigurations("(service.pid=" + MEMORY_PID + "~default)")[0];
        memory.delete();
        awaitCondition("the deleted configuration to be put back", () -> {
            try {
                Configuration[] found = configurationAdmin.listConfigurations("(service.pid=" + MEMORY_PID + "~default)");
                return found != null && "at-activation".equals(found[0].getProperties().get(KeystoreProperties.NAME));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
