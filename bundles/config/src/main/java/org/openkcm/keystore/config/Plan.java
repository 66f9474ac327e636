package org.openkcm.keystore.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What to change in ConfigAdmin so that it holds the desired configurations: a pure function
 * of the desired state and the configurations that exist, so that it is tested without a
 * framework.
 * <p>
 * The rules:
 * <ul>
 * <li>A desired configuration is written with its properties and the marker
 * {@value Names#SOURCE}{@code =yaml|env}, and only when that differs from what ConfigAdmin
 * holds (property names, types and values; arrays by content), so an unchanged file never
 * restarts a component.</li>
 * <li><b>Precedence over .cfg files is by whole configuration.</b> When a configuration that
 * config.yaml or the environment declares exists as FileInstall made it from a .cfg file
 * (property {@value Names#FILEINSTALL_FILENAME}), this bundle takes it over: its properties
 * become exactly the desired ones (the .cfg's are not merged in), FileInstall's property is
 * dropped, so FileInstall no longer writes it back to the file, and the file's URI is kept in
 * {@value Names#SHADOWS}. A warning says which file is shadowed.</li>
 * <li>A configuration this bundle wrote that is no longer desired is deleted, except one that
 * shadows a .cfg file: that one is {@linkplain Release released} (markers removed, file touched)
 * so that FileInstall reads the file again and takes it back. Deleting it instead would make
 * FileInstall delete the .cfg file.</li>
 * <li>A configuration without the marker and without FileInstall's property is somebody
 * else's (the shell, another bundle); one that config.yaml declares is taken over all the same,
 * with a warning, and is this bundle's from then on.</li>
 * <li>Everything else is left alone.</li>
 * </ul>
 */
record Plan(List<Action> actions, List<String> warnings, List<String> shadowed) {

    /** A configuration as ConfigAdmin holds it. */
    record Existing(ConfigKey key, Map<String, Object> properties) {
    }

    sealed interface Action permits Put, Delete, Release {
        ConfigKey key();
    }

    /** Create the configuration, or replace its properties with these. */
    record Put(ConfigKey key, Map<String, Object> properties, boolean create) implements Action {
    }

    /** Delete a configuration this bundle wrote. */
    record Delete(ConfigKey key) implements Action {
    }

    /** Hand back to FileInstall a configuration taken over from the .cfg file {@code file} (a URI). */
    record Release(ConfigKey key, Map<String, Object> properties, String file) implements Action {
    }

    static Plan of(Map<ConfigKey, Desired> desired, Collection<Existing> existing) {
        Map<ConfigKey, Existing> byKey = new HashMap<>();
        for (Existing e : existing) {
            byKey.put(e.key(), e);
        }
        List<Action> actions = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> shadowed = new ArrayList<>();
        for (Desired d : desired.values()) {
            Map<String, Object> target = new TreeMap<>(d.properties());
            target.put(Names.SOURCE, d.source());
            Existing e = byKey.get(d.key());
            if (e == null) {
                actions.add(new Put(d.key(), target, true));
                continue;
            }
            Map<String, Object> current = stored(e.properties());
            if (current.get(Names.FILEINSTALL_FILENAME) instanceof String file) {
                // FileInstall's, made from a .cfg file; or ours, that FileInstall wrote over when
                // the file changed or was read again at start: shadow the file (again).
                target.put(Names.SHADOWS, file);
                warnings.add(sourceName(d) + " shadows " + file + " for " + d.key()
                        + ": the whole configuration comes from " + sourceName(d) + ", none of the file's properties");
            } else if (current.containsKey(Names.SOURCE)) {
                if (current.get(Names.SHADOWS) instanceof String file) {
                    target.put(Names.SHADOWS, file);
                }
            } else {
                warnings.add(sourceName(d) + " takes over configuration " + d.key()
                        + ", which something else created: it is replaced, and managed by " + sourceName(d) + " from now on");
            }
            if (target.get(Names.SHADOWS) instanceof String file) {
                shadowed.add(file + " (" + d.key() + ")");
            }
            if (!sameProperties(target, current)) {
                actions.add(new Put(d.key(), target, false));
            }
        }
        for (Existing e : existing) {
            if (desired.containsKey(e.key())) {
                continue;
            }
            Map<String, Object> current = stored(e.properties());
            if (!current.containsKey(Names.SOURCE) || current.containsKey(Names.FILEINSTALL_FILENAME)) {
                continue; // not ours, or FileInstall's again: deleting it would delete its .cfg file
            }
            if (current.get(Names.SHADOWS) instanceof String file) {
                Map<String, Object> unmarked = new TreeMap<>(current);
                unmarked.remove(Names.SOURCE);
                unmarked.remove(Names.SHADOWS);
                actions.add(new Release(e.key(), unmarked, file));
            } else {
                actions.add(new Delete(e.key()));
            }
        }
        return new Plan(List.copyOf(actions), List.copyOf(warnings), List.copyOf(shadowed));
    }

    private static String sourceName(Desired d) {
        return Desired.YAML.equals(d.source()) ? "config.yaml" : "the environment";
    }

    /** The properties a configuration holds, without those ConfigAdmin adds itself. */
    static Map<String, Object> stored(Map<String, Object> properties) {
        Map<String, Object> result = new TreeMap<>(properties);
        result.remove(Names.SERVICE_PID);
        result.remove(Names.FACTORY_PID);
        result.remove(Names.BUNDLE_LOCATION);
        return result;
    }

    /** Same names, and values equal in type and content (arrays element by element). */
    static boolean sameProperties(Map<String, Object> a, Map<String, Object> b) {
        if (!a.keySet().equals(b.keySet())) {
            return false;
        }
        for (Map.Entry<String, Object> e : a.entrySet()) {
            Object other = b.get(e.getKey());
            Object mine = e.getValue();
            if (mine == null || other == null || mine.getClass() != other.getClass() || !Objects.deepEquals(mine, other)) {
                return false;
            }
        }
        return true;
    }
}
