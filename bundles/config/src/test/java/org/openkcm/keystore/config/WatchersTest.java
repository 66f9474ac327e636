package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

class WatchersTest {

    @Test
    void oneWatcherOfConfigYamlsFolderForThatFileOnly() {
        Map<String, Map<String, Object>> w = Watchers.of(Path.of("/etc/kms/./config.yaml"), null, 2000, null);
        assertEquals(List.of(Watchers.YAML_NAME), List.copyOf(w.keySet()));
        Map<String, Object> p = w.get(Watchers.YAML_NAME);
        assertEquals("/etc/kms", p.get(Watchers.DIR));
        assertEquals("2000", p.get(Watchers.POLL));
        assertEquals("true", p.get(Watchers.NO_INITIAL_DELAY));
        assertEquals("skip", p.get(Watchers.SUBDIR_MODE));
        assertEquals("false", p.get(Watchers.START_NEW_BUNDLES));
        assertEquals("false", p.get(Watchers.ENABLE_CONFIG_SAVE));
        assertFalse(p.containsKey(Watchers.TMPDIR), "FileInstall's default scratch folder unless the framework names one");
        Pattern filter = Pattern.compile((String) p.get(Watchers.FILTER));
        assertTrue(filter.matcher("config.yaml").matches());
        for (String other : List.of("configXyaml", "config.yaml.tmp", "org.openkcm.keystore.memory-default.cfg", "a.jar", "x.config")) {
            assertFalse(filter.matcher(other).matches(), other);
        }
    }

    @Test
    void theEnvironmentFileInTheSameFolderSharesTheWatcher() {
        Map<String, Map<String, Object>> w = Watchers.of(Path.of("/etc/kms/config.yaml"), Path.of("/etc/kms/env.properties"),
                500, "/var/kms/scratch");
        assertEquals(List.of(Watchers.YAML_NAME), List.copyOf(w.keySet()));
        Pattern filter = Pattern.compile((String) w.get(Watchers.YAML_NAME).get(Watchers.FILTER));
        assertTrue(filter.matcher("config.yaml").matches());
        assertTrue(filter.matcher("env.properties").matches());
        assertFalse(filter.matcher("envXproperties").matches());
        assertFalse(filter.matcher("config.yaml|env.properties").matches());
        assertEquals("/var/kms/scratch", w.get(Watchers.YAML_NAME).get(Watchers.TMPDIR));
    }

    @Test
    void theEnvironmentFileElsewhereGetsAWatcherOfItsOwn() {
        Map<String, Map<String, Object>> w = Watchers.of(Path.of("/etc/kms/config.yaml"), Path.of("/run/env/kms.env"), 2000, null);
        assertEquals(List.of(Watchers.YAML_NAME, Watchers.ENV_NAME), List.copyOf(w.keySet()));
        assertEquals("/run/env", w.get(Watchers.ENV_NAME).get(Watchers.DIR));
        Pattern filter = Pattern.compile((String) w.get(Watchers.ENV_NAME).get(Watchers.FILTER));
        assertTrue(filter.matcher("kms.env").matches());
        assertFalse(filter.matcher("config.yaml").matches());
    }

    @Test
    void aRelativePathIsWatchedWhereItIsRead() {
        Map<String, Map<String, Object>> w = Watchers.of(Path.of("config/config.yaml"), null, 2000, null);
        assertEquals(Path.of("config").toAbsolutePath().normalize().toString(), w.get(Watchers.YAML_NAME).get(Watchers.DIR));
    }

    @Test
    void noIntervalNoWatcherAndAShortOneIsRaised() {
        assertTrue(Watchers.of(Path.of("/etc/kms/config.yaml"), Path.of("/run/env/kms.env"), 0, null).isEmpty());
        assertEquals("100", Watchers.of(Path.of("/etc/kms/config.yaml"), null, 5, null).get(Watchers.YAML_NAME).get(Watchers.POLL));
    }
}
