package org.openkcm.keystore.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Maps environment variables to configuration properties, unambiguously or not at all.
 * <p>
 * A variable is an override when its name starts with the prefix and one more '_' (with the
 * default prefix {@code OPENKCM_}: {@code OPENKCM__}); its remainder is segments separated by
 * {@code __}:
 * <pre>
 * OPENKCM__&lt;CONFIG&gt;__&lt;PROPERTY&gt;              a singleton configuration
 * OPENKCM__&lt;CONFIG&gt;__&lt;INSTANCE&gt;__&lt;PROPERTY&gt;  an instance of a factory PID
 * </pre>
 * Other variables, {@code OPENKCM_HOME} or {@code OPENKCM_SECRET_BAO_TOKEN} for a
 * {@code $[env:OPENKCM_SECRET_BAO_TOKEN]} reference, are not overrides and are ignored. Each segment
 * is compared in {@link Names#canonical canonical form}:
 * <ul>
 * <li>CONFIG is an alias ({@code ROUTE}, {@code MEMORY}, {@code OPENBAO}, ...) or the PID of a
 * configuration that config.yaml declares or whose properties are known
 * ({@code ORG_OPENKCM_KEYSTORE_ROUTE}). Unknown or matching two PIDs: refused.</li>
 * <li>INSTANCE is the config.yaml instance of that factory PID whose name has this canonical
 * form ({@code L2_L3_TO_OPENBAO} is {@code l2-l3-to-openbao}); if there is none, a new instance
 * named by the segment in lower case with '_' as '-'.</li>
 * <li>PROPERTY is the one known property whose name has this canonical form
 * ({@code OWNER_ID_PREFIX} is {@code ownerIdPrefix}, {@code KEYSTORE_TIERS} is
 * {@code keystore.tiers}). Known are the properties config.yaml gives that configuration or
 * any instance of its factory PID, and the properties listed for its PID in this bundle's
 * configuration ({@code env.properties}). None or two: refused.</li>
 * </ul>
 * The value is read as a YAML value, like config.yaml's ({@code [L2, L3]} is a list,
 * {@code 10} an integer, {@code "10"} a string), under the same rules, secrets included.
 */
final class EnvOverrides {

    static final String SOURCE = "environment";

    private EnvOverrides() {
    }

    /** What this bundle's own configuration says about the environment. */
    record Mapping(String prefix, Map<String, String> aliases, Map<String, Set<String>> knownProperties) {

        /** The start of every override variable's name: the prefix and a '_'. */
        String lead() {
            return prefix + "_";
        }
    }

    /**
     * @param environment every variable (the others are skipped here)
     * @param mapping     prefix, aliases and known properties
     * @param yaml        what config.yaml declares, to find instances and property names in
     * @return per configuration, the properties the environment sets
     * @throws ConfigException for the first variable that breaks a rule, by name; never its value
     */
    static Map<ConfigKey, Map<String, Object>> map(Map<String, String> environment, Mapping mapping,
            Map<ConfigKey, Map<String, Object>> yaml) throws ConfigException {
        String lead = mapping.lead();
        Map<ConfigKey, Map<String, Object>> result = new TreeMap<>();
        Map<String, String> setBy = new LinkedHashMap<>();
        Map<String, Boolean> factoryUse = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(environment).entrySet()) {
            String variable = e.getKey();
            if (!variable.startsWith(lead)) {
                continue;
            }
            String[] segments = variable.substring(lead.length()).split("__", -1);
            if ((segments.length != 2 && segments.length != 3) || List.of(segments).contains("")) {
                throw refuse(variable, "expected " + lead + "<CONFIG>__<PROPERTY> or " + lead
                        + "<CONFIG>__<INSTANCE>__<PROPERTY>, segments separated by '__'");
            }
            boolean factory = segments.length == 3;
            String pid = pid(variable, segments[0], mapping, yaml);
            checkKind(variable, pid, factory, yaml, factoryUse);
            ConfigKey key = factory ? ConfigKey.factory(pid, instance(variable, pid, segments[1], yaml))
                    : ConfigKey.singleton(pid);
            String property = property(variable, key, segments[segments.length - 1], mapping, yaml);

            String earlier = setBy.putIfAbsent(key.servicePid() + "\n" + property, variable);
            if (earlier != null) {
                throw refuse(variable, "sets " + key.path() + "/" + property + " like " + earlier + " does");
            }
            Object value = YamlReader.parseValue(e.getValue(), SOURCE, variable);
            if (Names.isSecretName(property) && !Names.isSecretReference(value)) {
                throw refuse(variable, Names.SECRET_RULE);
            }
            result.computeIfAbsent(key, k -> new TreeMap<>()).put(property, value);
        }
        return result;
    }

    private static String pid(String variable, String segment, Mapping mapping, Map<ConfigKey, Map<String, Object>> yaml)
            throws ConfigException {
        String wanted = Names.canonical(segment);
        Set<String> pids = new TreeSet<>();
        mapping.aliases().forEach((alias, pid) -> {
            if (Names.canonical(alias).equals(wanted)) {
                pids.add(pid);
            }
        });
        List<String> candidates = new ArrayList<>(mapping.knownProperties().keySet());
        yaml.keySet().forEach(k -> candidates.add(k.pid()));
        for (String pid : candidates) {
            if (Names.canonical(pid).equals(wanted)) {
                pids.add(pid);
            }
        }
        if (pids.isEmpty()) {
            throw refuse(variable, "unknown configuration '" + segment + "': use an alias (" + String.join(", ",
                    new TreeSet<>(mapping.aliases().keySet())) + ") or the PID, in upper case with '_' for '.', "
                    + "of a configuration in config.yaml");
        }
        if (pids.size() > 1) {
            throw refuse(variable, "'" + segment + "' names more than one PID: " + String.join(", ", pids));
        }
        return pids.iterator().next();
    }

    private static void checkKind(String variable, String pid, boolean factory, Map<ConfigKey, Map<String, Object>> yaml,
            Map<String, Boolean> factoryUse) throws ConfigException {
        for (ConfigKey k : yaml.keySet()) {
            if (k.pid().equals(pid) && k.isFactory() != factory) {
                throw refuse(variable, pid + (k.isFactory() ? " is a factory PID in config.yaml: name an instance, "
                        + "<CONFIG>__<INSTANCE>__<PROPERTY>" : " is a singleton configuration in config.yaml: "
                        + "<CONFIG>__<PROPERTY>, no instance"));
            }
        }
        Boolean earlier = factoryUse.putIfAbsent(pid, factory);
        if (earlier != null && earlier != factory) {
            throw refuse(variable, "other variables use " + pid + (earlier ? " as a factory PID" : " as a singleton"));
        }
    }

    private static String instance(String variable, String pid, String segment, Map<ConfigKey, Map<String, Object>> yaml)
            throws ConfigException {
        String wanted = Names.canonical(segment);
        Set<String> names = new TreeSet<>();
        for (ConfigKey k : yaml.keySet()) {
            if (k.pid().equals(pid) && k.isFactory() && Names.canonical(k.name()).equals(wanted)) {
                names.add(k.name());
            }
        }
        if (names.size() > 1) {
            throw refuse(variable, "'" + segment + "' names more than one instance of " + pid + ": " + String.join(", ", names));
        }
        if (names.size() == 1) {
            return names.iterator().next();
        }
        String name = segment.toLowerCase(Locale.ROOT).replace('_', '-');
        if (!Names.isInstanceName(name)) {
            throw refuse(variable, Names.INSTANCE_RULE);
        }
        return name;
    }

    private static String property(String variable, ConfigKey key, String segment, Mapping mapping,
            Map<ConfigKey, Map<String, Object>> yaml) throws ConfigException {
        Set<String> known = new TreeSet<>(mapping.knownProperties().getOrDefault(key.pid(), Set.of()));
        for (Map.Entry<ConfigKey, Map<String, Object>> e : yaml.entrySet()) {
            if (e.getKey().equals(key) || (key.isFactory() && e.getKey().isFactory() && e.getKey().pid().equals(key.pid()))) {
                known.addAll(e.getValue().keySet());
            }
        }
        String wanted = Names.canonical(segment);
        List<String> matches = new ArrayList<>();
        for (String name : known) {
            if (Names.canonical(name).equals(wanted)) {
                matches.add(name);
            }
        }
        if (matches.size() == 1) {
            String name = matches.get(0);
            if (Names.isReserved(name)) {
                throw refuse(variable, "reserved: ConfigAdmin, FileInstall or this bundle sets it");
            }
            return name;
        }
        if (matches.isEmpty()) {
            throw refuse(variable, "unknown property '" + segment + "' of " + key.pid() + ": the known ones are "
                    + (known.isEmpty() ? "none" : String.join(", ", known)) + "; give it in config.yaml first, "
                    + "or list it in env.properties of " + Names.OWN_PID);
        }
        throw refuse(variable, "'" + segment + "' names more than one property of " + key.path() + ": "
                + String.join(", ", matches));
    }

    private static ConfigException refuse(String variable, String rule) {
        return new ConfigException(SOURCE, variable, 0, rule);
    }

    /** Parses {@code ALIAS=pid} entries. */
    static Map<String, String> aliases(Collection<String> entries) {
        Map<String, String> aliases = new TreeMap<>();
        for (String entry : entries) {
            int eq = entry.indexOf('=');
            String alias = eq < 0 ? "" : entry.substring(0, eq).trim();
            String pid = eq < 0 ? "" : entry.substring(eq + 1).trim();
            if (alias.isEmpty() || !Names.isPid(pid) || alias.contains("__")
                    || !Names.canonical(alias).equals(alias.toUpperCase(Locale.ROOT))) {
                throw new IllegalArgumentException("env.aliases: '" + entry + "' is not ALIAS=pid (ALIAS in letters, "
                        + "digits and single '_')");
            }
            if (aliases.put(alias.toUpperCase(Locale.ROOT), pid) != null) {
                throw new IllegalArgumentException("env.aliases: alias " + alias + " is given twice");
            }
        }
        return aliases;
    }

    /** Parses {@code pid=name,name,...} entries. */
    static Map<String, Set<String>> knownProperties(Collection<String> entries) {
        Map<String, Set<String>> known = new TreeMap<>();
        for (String entry : entries) {
            int eq = entry.indexOf('=');
            String pid = eq < 0 ? "" : entry.substring(0, eq).trim();
            if (!Names.isPid(pid)) {
                throw new IllegalArgumentException("env.properties: '" + entry + "' is not pid=name,name,...");
            }
            Set<String> names = known.computeIfAbsent(pid, p -> new TreeSet<>());
            for (String name : entry.substring(eq + 1).split(",")) {
                String n = name.trim();
                if (!n.isEmpty()) {
                    if (!Names.isPropertyName(n)) {
                        throw new IllegalArgumentException("env.properties: '" + n + "' of " + pid + ": " + Names.PROPERTY_RULE);
                    }
                    names.add(n);
                }
            }
        }
        return known;
    }
}
