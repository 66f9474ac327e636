package org.openkcm.keystore.openbao;

import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.Config;
import org.openkcm.keystore.sdk.ComponentConfigs;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * A {@link Config} built from properties as a {@code .cfg} file would give them ("kv.mount",
 * "token.source", …), with the annotation's defaults for the rest (the SDK's
 * {@link ComponentConfigs}), so the tests go through the component's real configuration path.
 */
final class TestConfig {
    private TestConfig() {
    }

    static Config of(Map<String, ?> properties) {
        return ComponentConfigs.of(Config.class, properties);
    }

    /** A token-authenticated configuration for a server, with a fresh prefix and small timeouts. */
    static Map<String, Object> forServer(OpenBaoDevServer server, String prefix) {
        Map<String, Object> props = new HashMap<>();
        props.put("address", server.address);
        props.put("path.prefix", prefix);
        props.put("token.source", server.rootTokenReference());
        props.put("connect.timeout.seconds", 2);
        props.put("read.timeout.seconds", 5);
        props.put("retry.max.attempts", 3);
        props.put("retry.initial.backoff.ms", 20L);
        props.put("retry.max.backoff.ms", 200L);
        if (server.caFile != null) {
            props.put("tls.ca.file", server.caFile.toString());
        }
        return props;
    }

    static OpenBaoKeystore open(Map<String, ?> properties) {
        return new OpenBaoKeystore(OpenBaoSettings.from(of(properties), System::getenv));
    }
}
