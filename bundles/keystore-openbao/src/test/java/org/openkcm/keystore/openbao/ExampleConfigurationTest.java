package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * {@code config/examples/org.openkcm.keystore.openbao-tenants.cfg} works: read as FileInstall's
 * typed format, with only the address, the token and the CA file pointed at a real dev server,
 * it gives a per-tenant backend that stores a tenant's key in that tenant's namespace.
 */
class ExampleConfigurationTest {
    private static final Path EXAMPLE = Paths.get("../../config/examples/org.openkcm.keystore.openbao-tenants.cfg");

    /** FileInstall's typed values as the example uses them: "text", [ "a", "b" ], I"10". */
    static Map<String, Object> readTypedCfg(Path file) throws IOException {
        Map<String, Object> props = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String l = line.trim();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int eq = l.indexOf('=');
            String key = l.substring(0, eq).trim();
            String value = l.substring(eq + 1).trim();
            if (value.startsWith("[")) {
                List<String> items = new ArrayList<>();
                for (String item : value.substring(1, value.length() - 1).split(",")) {
                    items.add(unquote(item.trim()));
                }
                props.put(key, items.toArray(new String[0]));
            } else if (value.startsWith("I\"")) {
                props.put(key, Integer.valueOf(unquote(value.substring(1))));
            } else {
                props.put(key, unquote(value));
            }
        }
        return props;
    }

    private static String unquote(String s) {
        assertTrue(s.startsWith("\"") && s.endsWith("\""), "typed value: " + s);
        return s.substring(1, s.length() - 1);
    }

    @Test
    void theOpenBaoExampleWorks() throws IOException {
        Map<String, Object> props = readTypedCfg(EXAMPLE);
        assertEquals("per-tenant", props.get("namespace.mode"));
        assertEquals("env:OPENKCM_SECRET_BAO_TOKEN", props.get("token.source"), "a reference, never a token");
        // and one the default allow-list accepts (no operator property set)
        org.openkcm.keystore.secrets.SecretSource.parse("token.source", (String) props.get("token.source"), k -> null,
                org.openkcm.keystore.secrets.SecretPolicy.from(k -> null), org.openkcm.keystore.secrets.SecretUse.CREDENTIAL);
        try (OpenBaoDevServer server = OpenBaoDevServer.dev()) {
            Map<String, Object> test = TestConfig.forServer(server, "unused");
            props.put("address", test.get("address"));
            props.put("token.source", test.get("token.source"));
            props.remove("tls.ca.file"); // the dev server speaks loopback http
            try (OpenBaoKeystore keystore = TestConfig.open(props)) {
                KeyMetadata m = minimal(KeyId.of("example", 1)).owner(Owner.tenant("acme")).build();
                keystore.storeKey(m.id(), sealed(3), m);
                assertEquals(List.of(m), keystore.listKeys(KeyFilter.all()).keys());
                assertEquals(0, server.cliResult("kv", "get", "-namespace=openkcm/acme", "-mount=secret",
                        "openkcm/L3/tenant/acme/example/1").exit, "in the tenant's namespace");
                assertEquals(0, server.cliResult("kv", "get", "-namespace=openkcm/services", "-mount=secret",
                        "openkcm/index/example+000000001").exit, "the index in namespace.services");
            }
        }
    }
}
