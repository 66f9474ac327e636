package org.openkcm.keystore.config;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One configuration as config.yaml and the environment want it. {@code source} is
 * {@code yaml} when config.yaml declares it (the environment may override some of its
 * properties), {@code env} when only the environment does.
 */
record Desired(ConfigKey key, Map<String, Object> properties, String source) {

    static final String YAML = "yaml";
    static final String ENV = "env";

    /**
     * The two upper layers, merged property by property: an environment variable's value
     * replaces config.yaml's for the same property, and adds a property config.yaml does not
     * give; a configuration only the environment names holds only its variables. The
     * environment cannot remove a property.
     */
    static Map<ConfigKey, Desired> merge(Map<ConfigKey, Map<String, Object>> yaml, Map<ConfigKey, Map<String, Object>> env) {
        Map<ConfigKey, Desired> result = new TreeMap<>();
        yaml.forEach((key, props) -> {
            Map<String, Object> merged = new TreeMap<>(props);
            merged.putAll(env.getOrDefault(key, Map.of()));
            result.put(key, new Desired(key, Collections.unmodifiableMap(merged), YAML));
        });
        env.forEach((key, props) -> {
            if (!yaml.containsKey(key)) {
                result.put(key, new Desired(key, Collections.unmodifiableMap(new TreeMap<>(props)), ENV));
            }
        });
        return Collections.unmodifiableMap(result);
    }
}
