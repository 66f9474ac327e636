package org.openkcm.keystore.kek.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * {@code config/examples/org.openkcm.keystore.kek.transit.cfg} works: read as FileInstall's typed
 * format, with only the address and CA pointed at a real dev server and its token variable set.
 */
class ExampleConfigurationTest {
    private static final Path EXAMPLE = Path.of("../../config/examples/org.openkcm.keystore.kek.transit.cfg");

    @TempDir
    Path home;

    static Map<String, Object> readTypedCfg(Path file) throws IOException {
        Map<String, Object> props = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int eq = l.indexOf('=');
            String value = l.substring(eq + 1).strip();
            boolean integer = value.startsWith("I\"");
            String text = value.substring(integer ? 2 : 1, value.length() - 1);
            props.put(l.substring(0, eq).strip(), integer ? (Object) Integer.valueOf(text) : text);
        }
        return props;
    }

    @Test
    void theTransitExampleWorks() throws IOException {
        Map<String, Object> props = readTypedCfg(EXAMPLE);
        assertEquals("env:OPENKCM_SECRET_KEK_TRANSIT_TOKEN", props.get("token.source"), "a reference, never a token");
        try (TransitServer bao = TransitServer.start()) {
            bao.createKey((String) props.get("key.name"));
            props.put("address", bao.address());
            props.remove("tls.ca.file"); // the dev server speaks loopback http
            TransitKekProvider provider = new TransitKekProvider();
            provider.load(TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, props),
                    k -> k.equals("openkcm.home") ? home.toString() : null),
                    Map.of("OPENKCM_SECRET_KEK_TRANSIT_TOKEN", bao.rootToken)::get);
            assertEquals("transit", provider.kekId());
            assertTrue(Files.isRegularFile(home.resolve("data/kek/transit.ring")), "the ring file in the runtime's home");
            byte[] dk = new byte[32];
            assertArrayEquals(dk, provider.unwrap(1, provider.wrap(1, dk)));
        }
    }
}
