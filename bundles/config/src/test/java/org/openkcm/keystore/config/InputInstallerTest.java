package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

class InputInstallerTest {

    @Test
    void handlesExactlyTheConfiguredFiles() {
        InputInstaller installer = new InputInstaller(Set.of(Path.of("/etc/kms/config.yaml"), Path.of("conf/env.properties")),
                () -> { });
        assertTrue(installer.canHandle(new File("/etc/kms/config.yaml")));
        assertTrue(installer.canHandle(new File("/etc/kms/sub/../config.yaml")), "compared normalized");
        assertTrue(installer.canHandle(Path.of("conf/env.properties").toAbsolutePath().toFile()), "compared absolute");
        assertFalse(installer.canHandle(new File("/etc/kms/config.yml")));
        assertFalse(installer.canHandle(new File("/etc/other/config.yaml")));
        assertFalse(installer.canHandle(new File("/etc/kms/org.openkcm.keystore.memory-default.cfg")));
    }

    @Test
    void everyReportAsksForAPass() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        InputInstaller installer = new InputInstaller(Set.of(Path.of("/etc/kms/config.yaml")), passes::incrementAndGet);
        File f = new File("/etc/kms/config.yaml");
        installer.install(f);
        installer.update(f);
        installer.uninstall(f);
        assertEquals(3, passes.get());
    }
}
