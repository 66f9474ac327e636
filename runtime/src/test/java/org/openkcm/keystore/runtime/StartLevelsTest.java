package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartLevelsTest {

    @Test
    void frameworkServicesComeBeforeTheKeystoreBundles() {
        assertEquals(StartLevels.SERVICES, StartLevels.of("org.apache.felix.configadmin"));
        assertEquals(StartLevels.SERVICES, StartLevels.of("org.osgi.util.promise"));
        assertEquals(StartLevels.COMPONENTS, StartLevels.of("org.apache.felix.scr"));
        assertEquals(StartLevels.CONFIGURATION, StartLevels.of("org.apache.felix.fileinstall"));
        assertEquals(StartLevels.CONFIGURATION, StartLevels.of("org.openkcm.keystore.config"));
        assertEquals(StartLevels.SHELL, StartLevels.of("org.apache.felix.gogo.runtime"));
        assertEquals(StartLevels.KEYSTORE, StartLevels.of("org.openkcm.keystore.core"));
        assertEquals(StartLevels.KEYSTORE, StartLevels.of("anything.else"));
        assertEquals(StartLevels.CONSOLE, StartLevels.of("org.apache.felix.gogo.jline"));
        assertEquals(StartLevels.CONSOLE, StartLevels.of("org.apache.felix.gogo.shell"));
        assertEquals("org.apache.felix.gogo.jline", StartLevels.console(Mode.INTERACTIVE));
        assertEquals("org.apache.felix.gogo.shell", StartLevels.console(Mode.COMMAND));
        assertEquals("org.apache.felix.gogo.shell", StartLevels.console(Mode.DAEMON));
        assertEquals(StartLevels.FINAL, StartLevels.CONSOLE);
    }

    @Test
    void bundlesAreInstalledByLevelThenTableThenFileName(@TempDir Path folder) throws Exception {
        Distribution.writeBundle(folder.resolve("a-shell.jar"), "org.apache.felix.gogo.jline", "1.1.4");
        Distribution.writeBundle(folder.resolve("b-core.jar"), "org.openkcm.keystore.core;singleton:=true", "1.0.0");
        Distribution.writeBundle(folder.resolve("a-backend.jar"), "org.example.backend", "1.0.0");
        Distribution.writeBundle(folder.resolve("z-scr.jar"), "org.apache.felix.scr", "2.2.12");
        Distribution.writeBundle(folder.resolve("y-cm.jar"), "org.apache.felix.configadmin", "1.9.26");
        Distribution.writeBundle(folder.resolve("x-log.jar"), "org.apache.felix.log", "1.3.0");
        Files.writeString(folder.resolve("notes.txt"), "not a jar");

        List<String> order = KeystoreRuntime.bundlesInStartOrder(folder).stream()
                .map(p -> p.getFileName().toString()).toList();

        assertEquals(List.of("x-log.jar", "y-cm.jar", "z-scr.jar", "a-backend.jar", "b-core.jar", "a-shell.jar"), order);
        assertEquals("org.openkcm.keystore.core", KeystoreRuntime.symbolicName(folder.resolve("b-core.jar")));
    }
}
