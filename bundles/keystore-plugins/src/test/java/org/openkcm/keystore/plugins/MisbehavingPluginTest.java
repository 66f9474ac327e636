package org.openkcm.keystore.plugins;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;

/**
 * Plugins that break the contract after a good handshake (plugins/go/misbehaving): one that does
 * not demand the AutoMTLS client certificate is refused at start; a malformed or misaddressed
 * record is a one-line unavailable error, logged, and never reaches the caller. A well-behaved
 * plugin next to it is not affected.
 */
class MisbehavingPluginTest {
    private final TestPlugins.RecordingLog log = new TestPlugins.RecordingLog();

    @Test
    void aPluginThatDoesNotDemandTheClientCertificateIsRefused() {
        PluginStartException e = assertThrows(PluginStartException.class,
                () -> new PluginSupervisor(misbehaving("no-client-auth"), Map.of(), log));
        assertEquals("the plugin answers callers that present no client certificate: it does not demand the one"
                + " AutoMTLS hands it (PLUGIN_CLIENT_CERT); refused", e.getMessage());
    }

    @Test
    void aRecordThatBreaksTheApiRulesIsUnavailableAndLogged() {
        try (PluginSupervisor supervisor = new PluginSupervisor(misbehaving("malformed-record"), Map.of(), log)) {
            PluginKeystore keystore = new PluginKeystore(supervisor, log);
            UnavailableException e = assertThrows(UnavailableException.class, () -> keystore.retrieveKey(KeyId.of("k", 1)));
            assertTrue(e.getMessage().startsWith("unavailable (key k:1): plugin go-memory sent a malformed response"
                    + " for key k:1: "), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            assertTrue(log.lines.contains("WARN " + e.getMessage().substring("unavailable (key k:1): ".length())),
                    log.lines::toString);
            // The same line again is refused again, but logged once.
            UnavailableException again = assertThrows(UnavailableException.class, () -> keystore.retrieveKey(KeyId.of("k", 1)));
            assertEquals(e.getMessage(), again.getMessage());
            assertEquals(1, log.lines.stream().filter(l -> l.contains("malformed response")).count(), log.lines::toString);
            // The next probe reports it, once (the router keeps it as the backend's last failure); then
            // the plugin, which still answers, is up again.
            var reported = keystore.health();
            assertFalse(reported.isUp());
            assertEquals(e.getMessage().substring("unavailable (key k:1): ".length()), reported.reason().orElseThrow());
            assertTrue(keystore.health().isUp(), "the plugin itself still answers");
        }
    }

    @Test
    void theRecordOfAnotherKeyIsUnavailableAndLeavesOtherBackendsServing() {
        PluginSettings good = TestPlugins.settings(TestPlugins.memoryPlugin());
        try (PluginSupervisor wrong = new PluginSupervisor(misbehaving("wrong-key"), Map.of(), log);
                PluginSupervisor other = new PluginSupervisor(good, Map.of(), log)) {
            PluginKeystore misaddressing = new PluginKeystore(wrong, log);
            PluginKeystore working = new PluginKeystore(other, log);
            KeyId id = KeyId.of("mine", 2);
            working.storeKey(id, sealed(2), minimal(id).build());

            UnavailableException e = assertThrows(UnavailableException.class, () -> misaddressing.retrieveKey(id));

            assertEquals("unavailable (key mine:2): plugin go-memory sent a malformed response for key mine:2: it"
                    + " holds the metadata of key someone-else:7", e.getMessage());
            assertEquals(StoredKey.of(sealed(2), minimal(id).build()), working.retrieveKey(id));
        }
    }

    private static PluginSettings misbehaving(String mode) {
        PluginSettings base = TestPlugins.settings(TestPlugins.misbehavingPlugin());
        return TestPlugins.settings(base.executable(), base.sha256(), List.of(mode), 1, Duration.ofSeconds(10));
    }
}
