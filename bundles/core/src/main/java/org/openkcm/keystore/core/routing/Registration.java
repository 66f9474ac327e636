package org.openkcm.keystore.core.routing;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;

/**
 * One {@link Keystore} service registration as the router sees it, immutable: a change of its
 * properties is a new registration with the same service id. {@code service} is null when the
 * framework could not give the service object (SCR answers null while a component (re)activates):
 * the registration is then UNAVAILABLE and the service is asked for again.
 */
public record Registration(long serviceId, String name, int ranking, List<String> tiers, List<String> regions,
        String bundleSymbolicName, String bundleVersion, Map<String, String> properties, Keystore service) {

    public Registration {
        tiers = List.copyOf(tiers);
        regions = List.copyOf(regions);
        properties = Map.copyOf(properties);
    }

    /** A registration from its service properties (a {@code String[]} or comma-separated tiers and regions). */
    public static Registration of(long serviceId, Map<String, Object> props, String bsn, String version,
            Keystore service) {
        Object name = props.get(KeystoreProperties.NAME);
        Object ranking = props.get("service.ranking");
        Map<String, String> visible = new TreeMap<>();
        props.forEach((k, v) -> {
            if (isVisible(k) && v != null) {
                visible.put(k, v instanceof Object[] array ? String.join(",", KeystoreProperties.values(array))
                        : String.valueOf(v));
            }
        });
        return new Registration(serviceId, name == null ? null : String.valueOf(name).trim(),
                ranking instanceof Integer i ? i : 0, KeystoreProperties.values(props.get(KeystoreProperties.TIERS)),
                KeystoreProperties.values(props.get(KeystoreProperties.REGIONS)), bsn, version, visible, service);
    }

    public Registration withService(Keystore service) {
        return new Registration(serviceId, name, ranking, tiers, regions, bundleSymbolicName, bundleVersion,
                properties, service);
    }

    /** Whether the backend says it is volatile ({@code keystore.persistent=false}): it keeps nothing across a restart. */
    boolean isVolatile() {
        return "false".equalsIgnoreCase(properties.getOrDefault(KeystoreProperties.PERSISTENT, "true").trim());
    }

    /** Higher ranking first, then the lower service id (the OSGi rule). */
    boolean outranks(Registration other) {
        return ranking != other.ranking ? ranking > other.ranking : serviceId < other.serviceId;
    }

    /** Only properties that cannot hold a credential are shown: the keystore's own, the framework's. */
    private static boolean isVisible(String key) {
        return key.startsWith("keystore.") || key.equals("service.id") || key.equals("service.ranking")
                || key.equals("service.pid") || key.equals("service.factoryPid") || key.equals("component.name");
    }
}
