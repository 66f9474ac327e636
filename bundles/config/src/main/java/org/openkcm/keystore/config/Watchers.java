package org.openkcm.keystore.config;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The FileInstall watchers that config.yaml and the environment file need: factory
 * configurations of FileInstall's own PID, one per distinct folder, each watching only the
 * file(s) of that folder. A pure function of the files and the poll interval, tested without
 * a framework.
 * <p>
 * Such a watcher never installs anything by itself: its filter matches only our file names, so
 * FileInstall offers it no jar and no .cfg file (a folder shared with the runtime's own watcher
 * keeps its .cfg files handled once, by that watcher), and FileInstall hands our files only to
 * an {@code ArtifactInstaller} that says it can handle them ({@link InputInstaller}). No
 * listener, nothing happens: FileInstall keeps the file aside until one comes.
 */
final class Watchers {

    /** FileInstall's factory PID of directory watchers. */
    static final String FACTORY_PID = "org.apache.felix.fileinstall";
    /** The watcher of config.yaml's folder (and the environment file's, when it is the same). */
    static final String YAML_NAME = "openkcm-config-yaml";
    /** The watcher of the environment file's folder, when it is another one. */
    static final String ENV_NAME = "openkcm-config-env";
    /** Every name this bundle gives a watcher, so that a leftover is found and deleted. */
    static final List<String> NAMES = List.of(YAML_NAME, ENV_NAME);

    /** FileInstall's property names (its DirectoryWatcher's). */
    static final String DIR = "felix.fileinstall.dir";
    static final String FILTER = "felix.fileinstall.filter";
    static final String POLL = "felix.fileinstall.poll";
    static final String NO_INITIAL_DELAY = "felix.fileinstall.noInitialDelay";
    static final String SUBDIR_MODE = "felix.fileinstall.subdir.mode";
    static final String START_NEW_BUNDLES = "felix.fileinstall.bundles.new.start";
    static final String ENABLE_CONFIG_SAVE = "felix.fileinstall.enableConfigSave";
    static final String TMPDIR = "felix.fileinstall.tmpdir";

    /** FileInstall would poll in a busy loop below this. */
    static final long MIN_POLL_MS = 100;

    private Watchers() {
    }

    /** A path as FileInstall's watcher names the files it lists: absolute, normalized. */
    static Path normalized(Path file) {
        return file.toAbsolutePath().normalize();
    }

    /**
     * @param yamlFile config.yaml
     * @param envFile  the environment file, or null
     * @param pollMs   the poll interval; 0 or less: no watcher at all
     * @param tmpDir   FileInstall's scratch folder (the framework property), or null for its default
     * @return watcher name to the properties of its configuration, in a stable order
     */
    static Map<String, Map<String, Object>> of(Path yamlFile, Path envFile, long pollMs, String tmpDir) {
        Map<String, Map<String, Object>> result = new LinkedHashMap<>();
        if (pollMs <= 0) {
            return result;
        }
        Path yaml = normalized(yamlFile);
        Path env = envFile == null ? null : normalized(envFile);
        if (env != null && env.getParent() != null && env.getParent().equals(yaml.getParent())) {
            result.put(YAML_NAME, watcher(yaml.getParent(), pollMs, tmpDir, yaml, env));
        } else {
            result.put(YAML_NAME, watcher(yaml.getParent(), pollMs, tmpDir, yaml));
            if (env != null && env.getParent() != null) {
                result.put(ENV_NAME, watcher(env.getParent(), pollMs, tmpDir, env));
            }
        }
        return result;
    }

    private static Map<String, Object> watcher(Path folder, long pollMs, String tmpDir, Path... files) {
        StringBuilder filter = new StringBuilder();
        for (Path f : files) {
            if (filter.length() > 0) {
                filter.append('|');
            }
            filter.append(Pattern.quote(f.getFileName().toString()));
        }
        // FileInstall's ManagedServiceFactory hands every value over as a string.
        Map<String, Object> p = new TreeMap<>();
        p.put(DIR, folder.toString());
        p.put(FILTER, files.length == 1 ? filter.toString() : "(?:" + filter + ")");
        p.put(POLL, Long.toString(Math.max(MIN_POLL_MS, pollMs)));
        p.put(NO_INITIAL_DELAY, "true");
        p.put(SUBDIR_MODE, "skip");
        p.put(START_NEW_BUNDLES, "false");
        p.put(ENABLE_CONFIG_SAVE, "false");
        if (tmpDir != null && !tmpDir.isBlank()) {
            p.put(TMPDIR, tmpDir);
        }
        return p;
    }
}
