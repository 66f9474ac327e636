package org.openkcm.keystore.sdk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

class ComponentConfigsTest {
    enum Mode { TOKEN, APPROLE }

    @interface Config {
        String keystore_name() default "memory";

        String[] keystore_tiers() default {"L2", "L3", "L4"};

        int maxEntries() default 10;

        long retry_max_backoff_ms() default 2000;

        boolean tls_verify() default true;

        Mode auth_method() default Mode.TOKEN;

        String double__underscore() default "";

        String with$_$dash() default "";
    }

    @Test
    void absentAttributesHaveTheirDefaults() {
        Config config = ComponentConfigs.of(Config.class, Map.of());
        assertEquals("memory", config.keystore_name());
        assertArrayEquals(new String[] {"L2", "L3", "L4"}, config.keystore_tiers());
        assertEquals(10, config.maxEntries());
        assertEquals(Config.class, config.annotationType());
    }

    @Test
    void valuesAreFoundByPropertyNameOrMethodName() {
        assertEquals("a", ComponentConfigs.of(Config.class, Map.of("keystore.name", "a")).keystore_name());
        assertEquals("b", ComponentConfigs.of(Config.class, Map.of("keystore_name", "b")).keystore_name());
        assertEquals("c", ComponentConfigs.of(Config.class, Map.of("double_underscore", "c")).double__underscore());
        assertEquals("d", ComponentConfigs.of(Config.class, Map.of("with-dash", "d")).with$_$dash());
    }

    @Test
    void plainStringsAreConvertedAsDeclarativeServicesDoes() {
        Config config = ComponentConfigs.of(Config.class, Map.of("maxEntries", "7", "retry.max.backoff.ms", "9",
                "tls.verify", "false", "auth.method", "APPROLE", "keystore.tiers", "L4"));
        assertEquals(7, config.maxEntries());
        assertEquals(9L, config.retry_max_backoff_ms());
        assertEquals(false, config.tls_verify());
        assertEquals(Mode.APPROLE, config.auth_method());
        assertArrayEquals(new String[] {"L4"}, config.keystore_tiers());
        assertThrows(IllegalArgumentException.class,
                () -> ComponentConfigs.of(Config.class, Map.of("auth.method", "KERBEROS")).auth_method());
    }
}
