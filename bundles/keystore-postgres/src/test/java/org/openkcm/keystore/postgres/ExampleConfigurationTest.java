package org.openkcm.keystore.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;

import org.apache.felix.fileinstall.shaded.util.properties.TypedProperties;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.sdk.SampleKeys;

/**
 * {@code config/examples/org.openkcm.keystore.postgres-main.cfg}, read as FileInstall reads it,
 * is a valid configuration that works against a real server (only the port is the test server's).
 */
class ExampleConfigurationTest {
    @Test
    void theExampleCfgWorks() throws Exception {
        Path example = Paths.get(System.getProperty("openkcm.examples", "../../config/examples"))
                .resolve("org.openkcm.keystore.postgres-main.cfg");
        TypedProperties typed = new TypedProperties();
        try (Reader reader = Files.newBufferedReader(example)) {
            typed.load(reader);
        }
        Map<String, Object> props = new HashMap<>();
        for (String key : typed.keySet()) {
            props.put(key, typed.get(key));
        }
        assertEquals("env:OPENKCM_SECRET_PG_PASSWORD", props.get("password.ref"));
        // and one the default allow-list accepts (no operator property set)
        org.openkcm.keystore.secrets.SecretSource.parse("password.ref", (String) props.get("password.ref"), k -> null,
                org.openkcm.keystore.secrets.SecretPolicy.from(k -> null), org.openkcm.keystore.secrets.SecretUse.CREDENTIAL);
        assertEquals(10, props.get("service.ranking"));
        String url = (String) props.get("url");
        props.put("url", url.replace(":5432/", ":" + TestDatabase.server().port() + "/"));
        props.put("schema", TestDatabase.freshSchema());

        PostgresKeystore keystore = TestDatabase.open(props);
        try {
            KeyId id = KeyId.of("example", 1);
            keystore.storeKey(id, SampleKeys.sealed(5), SampleKeys.minimal(id).build());
            assertEquals(SampleKeys.sealed(5), keystore.retrieveKey(id).sealed());
            assertTrue(keystore.health().isUp());
        } finally {
            keystore.close();
        }
    }
}
