package org.openkcm.keystore.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Dictionary;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.sdk.ComponentConfigs;

/** The configuration rules: each bad value is refused naming its attribute, and nothing is created. */
class FileKeystoreComponentTest {

    @TempDir
    Path folder;

    @Test
    void aValidConfigurationGivesItsSettingsAndServiceProperties() {
        Path root = folder.resolve("keys");
        FileKeystoreComponent.Settings settings = settings(Map.of("path", root.toString(),
                "keystore.name", "vault", "keystore.tiers", new String[] {"L2", "L3"},
                "keystore.regions", new String[] {"eu"}, "service.ranking", "5"));

        assertEquals("vault", settings.name);
        assertEquals(EnumSet.of(KeyType.L2, KeyType.L3), settings.tiers);
        assertEquals(root, settings.root);
        Dictionary<String, Object> properties = settings.serviceProperties(root);
        assertEquals("vault", properties.get("keystore.name"));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) properties.get("keystore.tiers"));
        assertArrayEquals(new String[] {"eu"}, (String[]) properties.get("keystore.regions"));
        assertEquals(5, properties.get("service.ranking"));
        assertEquals(Boolean.TRUE, properties.get(FileKeystoreComponent.PERSISTENT));
        assertEquals(root.toString(), properties.get(FileKeystoreComponent.LOCATION));
    }

    @Test
    void defaults() {
        FileKeystoreComponent.Settings settings = settings(Map.of("path", folder.toString()));
        assertEquals("file", settings.name);
        assertEquals(EnumSet.allOf(KeyType.class), settings.tiers);
    }

    @Test
    void badValuesAreRefusedNamingTheAttribute() {
        String root = folder.resolve("keys").toString();
        assertRefused("path", "is required", Map.of());
        assertRefused("path", "is required", Map.of("path", " "));
        assertRefused("path", "must be an absolute path", Map.of("path", "data/keys"));
        assertRefused("path", "unresolved ${...} reference", Map.of("path", "${openkcm.home}/data/keys"));
        assertRefused("path", "not a valid path", Map.of("path", "/keys\u0000x"));
        assertRefused("keystore.name", "must start with a letter or digit",
                Map.of("path", root, "keystore.name", "../x"));
        assertRefused("keystore.tiers[1]", "must be one of L2, L3, L4",
                Map.of("path", root, "keystore.tiers", new String[] {"L2", "L9"}));
        assertRefused("keystore.tiers", "must name at least one",
                Map.of("path", root, "keystore.tiers", new String[] {}));
        assertRefused("keystore.regions[0]", "must start with a letter or digit",
                Map.of("path", root, "keystore.regions", new String[] {"e u"}));
        assertTrue(folder.toFile().list().length == 0, "a refused configuration creates nothing");
    }

    private static FileKeystoreComponent.Settings settings(Map<String, ?> values) {
        return FileKeystoreComponent.Settings.of(ComponentConfigs.of(FileKeystoreComponent.Config.class,
                new HashMap<>(values)));
    }

    private static void assertRefused(String field, String rule, Map<String, ?> values) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> settings(values));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(rule), e.getMessage());
    }
}
