package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** A setting the Redis plugin refuses fails the plugin's start with one line that names it. */
class RedisPluginSettingsTest {
    @Test
    void missingAddressIsRefusedAtStart() {
        PluginStartException e = assertThrows(PluginStartException.class, () -> new PluginSupervisor(
                RedisPlugins.settings(Map.of("prefix", "p:")), Map.of(), new TestPlugins.RecordingLog()));
        assertEquals("the plugin refused its settings: INVALID_ARGUMENT: invalid settings.address: is required"
                + " (host:port of the Redis server)", e.getMessage());
    }

    @Test
    void passwordReferenceToAVariableNotPassedIsRefusedAtStart() {
        // The variable is set for the runtime but not listed in plugin.env: the plugin never sees it.
        PluginStartException e = assertThrows(PluginStartException.class, () -> new PluginSupervisor(
                RedisPlugins.settings(Map.of("address", "127.0.0.1:1", "password.ref", "env:OPENKCM_TEST_PASSED")),
                Map.of("OPENKCM_TEST_PASSED", "secret"), new TestPlugins.RecordingLog()));
        assertEquals("the plugin refused its settings: INVALID_ARGUMENT: invalid settings.password.ref: environment"
                + " variable OPENKCM_TEST_PASSED is not set (list it in plugin.env)", e.getMessage());
    }
}
