package org.openkcm.keystore.sdk;

import java.lang.annotation.Annotation;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/**
 * Instances of a component's configuration annotation (its metatype {@code @ObjectClassDefinition})
 * as Declarative Services makes them, for tests that activate a backend without a framework.
 * Values are looked up by property name as a {@code .cfg} file gives it ({@code keystore.name},
 * DS's mapping of the method {@code keystore_name}) or by the method name itself; plain strings are
 * converted to the attribute's type as DS converts them; every attribute not given has its default.
 */
public final class ComponentConfigs {
    private ComponentConfigs() {
    }

    public static <A extends Annotation> A of(Class<A> type, Map<String, ?> values) {
        Map<String, Object> copy = new HashMap<>(values);
        Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, method, args) -> {
            switch (method.getName()) {
                case "annotationType":
                    return type;
                case "toString":
                    return type.getSimpleName() + copy;
                case "hashCode":
                    return copy.hashCode();
                case "equals":
                    return self == args[0];
                default:
                    return value(method, copy);
            }
        });
        return type.cast(proxy);
    }

    /** DS's mapping of an attribute method name to its property name (OSGi Compendium 112.8.2.2). */
    static String propertyName(String methodName) {
        return methodName.replace("$$", "\u0000").replace("$_$", "-").replace("$", "")
                .replace("__", "\u0001").replace('_', '.').replace('\u0001', '_').replace('\u0000', '$');
    }

    private static Object value(Method method, Map<String, Object> values) {
        String property = propertyName(method.getName());
        Object value = values.containsKey(property) ? values.get(property)
                : values.containsKey(method.getName()) ? values.get(method.getName()) : method.getDefaultValue();
        return value == null ? null : convert(value, method.getReturnType());
    }

    private static Object convert(Object value, Class<?> type) {
        if (type.isInstance(value) || (type.isPrimitive() && !(value instanceof String))) {
            return value;
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
            Array.set(array, 0, convert(value, type.getComponentType()));
            return array;
        }
        throw new IllegalArgumentException("cannot convert " + value + " to " + type);
    }
}
