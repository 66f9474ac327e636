package org.openkcm.keystore.memory;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;

/**
 * Instances of {@link MemoryKeystore.Config} as Declarative Services makes them: every attribute
 * that is not given has its default.
 */
final class Configs {
    private Configs() {
    }

    static MemoryKeystore.Config defaults() {
        return of(Map.of());
    }

    /** @param values attribute values by method name, e.g. {@code "keystore_name"} */
    static MemoryKeystore.Config of(Map<String, Object> values) {
        return (MemoryKeystore.Config) Proxy.newProxyInstance(Configs.class.getClassLoader(),
                new Class<?>[] {MemoryKeystore.Config.class}, (proxy, method, args) -> valueOf(method, values));
    }

    private static Object valueOf(Method method, Map<String, Object> values) {
        switch (method.getName()) {
            case "annotationType":
                return MemoryKeystore.Config.class;
            case "toString":
                return "Config" + values;
            case "hashCode":
                return values.hashCode();
            case "equals":
                return false;
            default:
                return values.containsKey(method.getName()) ? values.get(method.getName()) : method.getDefaultValue();
        }
    }
}
