package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

import org.junit.jupiter.api.Test;

class DesiredTest {

    @Test
    void theEnvironmentOverridesConfigYamlPropertyByProperty() throws ConfigException {
        Inputs inputs = new Inputs("""
                org.openkcm.keystore.memory:
                  default: {keystore.name: memory, keystore.tiers: [L4], service.ranking: 1}
                """, Map.of(
                "OPENKCM__MEMORY__DEFAULT__KEYSTORE_TIERS", "[L2, L3, L4]",
                "OPENKCM__MEMORY__EXTRA__KEYSTORE_NAME", "extra"));
        Map<ConfigKey, Desired> d = inputs.desired("config.yaml", EnvOverridesTest.DEFAULTS);

        Desired memory = d.get(ConfigKey.factory("org.openkcm.keystore.memory", "default"));
        assertEquals(Desired.YAML, memory.source());
        assertEquals("memory", memory.properties().get("keystore.name"), "config.yaml's, not overridden");
        assertEquals(1, memory.properties().get("service.ranking"));
        assertArrayEquals(new String[] {"L2", "L3", "L4"}, (String[]) memory.properties().get("keystore.tiers"),
                "the environment's");

        Desired extra = d.get(ConfigKey.factory("org.openkcm.keystore.memory", "extra"));
        assertEquals(Desired.ENV, extra.source());
        assertEquals(Map.of("keystore.name", "extra"), extra.properties());
        assertEquals(2, d.size());
    }

    @Test
    void noFileMeansTheEnvironmentAlone() throws ConfigException {
        Map<ConfigKey, Desired> d = new Inputs(null, Map.of("OPENKCM__ROUTE__L4__TARGET", "memory"))
                .desired("config.yaml", EnvOverridesTest.DEFAULTS);
        assertEquals(Map.of("target", "memory"), d.get(ConfigKey.factory("org.openkcm.keystore.route", "l4")).properties());
    }
}
