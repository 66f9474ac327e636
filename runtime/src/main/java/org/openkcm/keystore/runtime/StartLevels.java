package org.openkcm.keystore.runtime;

import java.util.List;
import java.util.Map;

/**
 * The start level of every bundle the launcher installs from {@code bundle/}, by symbolic name.
 * Bundles start level by level, and within a level in the order of this table (then by file
 * name), so the framework services are up before anything that uses them:
 * <ol>
 * <li>{@link #SERVICES}: the log service, ConfigAdmin, metatype, and the OSGi API bundles SCR
 * needs (function, promise, component);</li>
 * <li>{@link #COMPONENTS}: Declarative Services (SCR), which finds ConfigAdmin and the log
 * service already registered;</li>
 * <li>{@link #CONFIGURATION}: the configuration sources: FileInstall, whose start scans
 * {@code config/} and then {@code plugins/} once before it returns, and the {@code config.yaml}
 * bundle. Every {@code .cfg} is in ConfigAdmin before a keystore component starts. The bundles
 * of {@code plugins/} get this level too ({@link #PLUGINS}): FileInstall 3.7.4 starts a bundle it
 * installs only if the framework has reached the bundle's level, and otherwise leaves it to a
 * later poll, so at this level a plugin present at start is active when the start ends;</li>
 * <li>{@link #SHELL}: the Gogo runtime, its commands and JLine;</li>
 * <li>{@link #KEYSTORE}: every other bundle of {@code bundle/}: the api, core, the backends and
 * the keystore shell commands; and any bundle installed later from the shell;</li>
 * <li>{@link #CONSOLE}: the Gogo shells, of which the launcher starts one (see
 * {@link #console(Mode)}): its console thus opens once everything else has started. The
 * framework's beginning (final) start level.</li>
 * </ol>
 */
final class StartLevels {

    static final int SERVICES = 1;
    static final int COMPONENTS = 2;
    static final int CONFIGURATION = 3;
    static final int PLUGINS = CONFIGURATION;
    static final int SHELL = 4;
    static final int KEYSTORE = 5;
    static final int CONSOLE = 6;

    /** The console where a person types: Gogo's JLine shell (line editing, completion, history). */
    static final String INTERACTIVE_CONSOLE = "org.apache.felix.gogo.jline";
    /**
     * The console of the other modes: the plain Gogo shell, which never touches the terminal and
     * gives {@code -c} and scripts the same built-in commands (echo, each, if, ...).
     */
    static final String SCRIPT_CONSOLE = "org.apache.felix.gogo.shell";

    /** The framework's beginning start level: every level above is started. */
    static final int FINAL = CONSOLE;

    /** Known bundles in start order. */
    private static final List<Map.Entry<String, Integer>> TABLE = List.of(
            Map.entry("org.apache.felix.log", SERVICES),
            Map.entry("slf4j.api", SERVICES),
            Map.entry("org.osgi.util.converter", SERVICES),
            // before ConfigAdmin, which waits for it (felix.cm.config.plugins) before it registers
            Map.entry("org.apache.felix.configadmin.plugin.interpolation", SERVICES),
            Map.entry("org.osgi.util.function", SERVICES),
            Map.entry("org.osgi.util.promise", SERVICES),
            Map.entry("org.osgi.service.component", SERVICES),
            Map.entry("org.apache.felix.configadmin", SERVICES),
            Map.entry("org.apache.felix.metatype", SERVICES),
            Map.entry("org.apache.felix.scr", COMPONENTS),
            Map.entry("org.apache.felix.fileinstall", CONFIGURATION),
            Map.entry("org.openkcm.keystore.config", CONFIGURATION),
            Map.entry("org.apache.felix.gogo.runtime", SHELL),
            Map.entry("org.apache.felix.gogo.command", SHELL),
            Map.entry("org.jline", SHELL),
            Map.entry(INTERACTIVE_CONSOLE, CONSOLE),
            Map.entry(SCRIPT_CONSOLE, CONSOLE));

    private StartLevels() {
    }

    /** The console bundle that the mode starts; the other one stays installed, not started. */
    static String console(Mode mode) {
        return mode == Mode.INTERACTIVE ? INTERACTIVE_CONSOLE : SCRIPT_CONSOLE;
    }

    /** Whether the bundle is one of the two consoles. */
    static boolean isConsole(String symbolicName) {
        return INTERACTIVE_CONSOLE.equals(symbolicName) || SCRIPT_CONSOLE.equals(symbolicName);
    }

    /** The start level of the bundle with this symbolic name: {@link #KEYSTORE} unless the table names it. */
    static int of(String symbolicName) {
        for (Map.Entry<String, Integer> entry : TABLE) {
            if (entry.getKey().equals(symbolicName)) {
                return entry.getValue();
            }
        }
        return KEYSTORE;
    }

    /** The position of the bundle in the start order within its level; bundles not in the table come last. */
    static int rank(String symbolicName) {
        for (int i = 0; i < TABLE.size(); i++) {
            if (TABLE.get(i).getKey().equals(symbolicName)) {
                return i;
            }
        }
        return TABLE.size();
    }
}
