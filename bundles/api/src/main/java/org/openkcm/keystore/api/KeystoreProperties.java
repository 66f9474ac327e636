package org.openkcm.keystore.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** The service properties every {@link Keystore} backend registers with. */
public final class KeystoreProperties {
    /** Stable name of the backend instance, kept across upgrades; routes name their target by it. */
    public static final String NAME = "keystore.name";
    /** The tiers ({@link KeyType} names: L2, L3, L4) the backend accepts. */
    public static final String TIERS = "keystore.tiers";
    /** The regions the backend serves. */
    public static final String REGIONS = "keystore.regions";
    /**
     * Whether the backend keeps what it stores across a restart of the process: {@code false} for a
     * volatile backend (in memory). Absent means persistent. The router never sends a key of a
     * persistent tier (L2, L3) to a volatile backend as the default target; only a route that names
     * that backend for the tier does.
     *
     * @since 1.1.0
     */
    public static final String PERSISTENT = "keystore.persistent";

    private KeystoreProperties() {
    }

    /**
     * The values of a multi-valued property as a backend may be configured with it: a
     * {@code String[]} or collection (typed configuration), or one comma-separated string (a plain
     * {@code .cfg} value such as {@code keystore.tiers=L2,L3}). Each value is trimmed; empty ones
     * are dropped. Backends and the router read {@link #TIERS} and {@link #REGIONS} through this, so
     * both forms mean the same everywhere.
     *
     * @param property the property value, or null for none
     */
    public static List<String> values(Object property) {
        List<String> values = new ArrayList<>();
        if (property instanceof Object[]) {
            for (Object element : (Object[]) property) {
                split(element, values);
            }
        } else if (property instanceof Collection) {
            for (Object element : (Collection<?>) property) {
                split(element, values);
            }
        } else if (property != null) {
            split(property, values);
        }
        return values;
    }

    private static void split(Object element, List<String> into) {
        if (element == null) {
            return;
        }
        for (String part : element.toString().split(",")) {
            String value = part.trim();
            if (!value.isEmpty()) {
                into.add(value);
            }
        }
    }
}
