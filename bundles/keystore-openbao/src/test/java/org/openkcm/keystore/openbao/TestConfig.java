package org.openkcm.keystore.openbao;

import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.Config;

/**
 * A {@link Config} built from properties as a {@code .cfg} file would give them ("kv.mount",
 * "token.source", …), with the annotation's defaults for the rest: the same mapping Declarative
 * Services applies, so the tests go through the component's real configuration path.
 */
final class TestConfig {
    private TestConfig() {
    }

    static Config of(Map<String, ?> properties) {
        Map<String, Object> props = new HashMap<>(properties);
        return (Config) Proxy.newProxyInstance(Config.class.getClassLoader(), new Class<?>[] {Config.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "annotationType":
                            return Config.class;
                        case "toString":
                            return "TestConfig" + props;
                        case "hashCode":
                            return props.hashCode();
                        case "equals":
                            return proxy == args[0];
                        default:
                            return value(method, props);
                    }
                });
    }

    /** A token-authenticated configuration for a server, with a fresh prefix and small timeouts. */
    static Map<String, Object> forServer(BaoServer server, String prefix) {
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

    private static Object value(Method method, Map<String, Object> props) {
        String key = method.getName().replace('_', '.');
        Object value = props.containsKey(key) ? props.get(key) : method.getDefaultValue();
        if (value == null) {
            return null;
        }
        Class<?> type = method.getReturnType();
        if (type.isInstance(value)) {
            return value;
        }
        if (type == String[].class) {
            return value instanceof String ? new String[] {(String) value} : value;
        }
        if (type.isEnum()) {
            for (Object constant : type.getEnumConstants()) {
                if (((Enum<?>) constant).name().equals(String.valueOf(value))) {
                    return constant;
                }
            }
            throw new IllegalArgumentException("no " + type.getSimpleName() + " named " + value);
        }
        String text = String.valueOf(value);
        if (type == int.class) {
            return Integer.parseInt(text);
        }
        if (type == long.class) {
            return Long.parseLong(text);
        }
        if (type == boolean.class) {
            return Boolean.parseBoolean(text);
        }
        if (type == String.class) {
            return text;
        }
        if (type.isArray()) {
            Object array = Array.newInstance(type.getComponentType(), 1);
            Array.set(array, 0, value);
            return array;
        }
        throw new IllegalArgumentException("cannot convert " + value + " to " + type);
    }
}
