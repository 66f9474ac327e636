package org.openkcm.keystore.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Asks FileInstall to watch config.yaml and the environment file: registers the
 * {@link InputInstaller} for them, then writes the {@link Watchers} configurations (and deletes
 * any other watcher configuration of this bundle, such as one left by a process that was
 * killed); {@link #close()} undoes both.
 * <p>
 * This class names no FileInstall type, so that it loads when the optional FileInstall import
 * is not wired; {@link #available} says whether it is.
 */
final class FileWatch {

    private static final String API_PACKAGE = "org.apache.felix.fileinstall";
    private static final String INSTALLER = API_PACKAGE + ".ArtifactInstaller";

    private final ConfigurationAdmin configurationAdmin;
    private ServiceRegistration<?> installer;

    private FileWatch(ConfigurationAdmin configurationAdmin) {
        this.configurationAdmin = configurationAdmin;
    }

    /** Whether the FileInstall API is wired to this bundle, so that its installer can be registered. */
    static boolean available(BundleContext context) {
        BundleWiring wiring = context.getBundle().adapt(BundleWiring.class);
        return wiring != null && wiring.getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE).stream()
                .anyMatch(w -> API_PACKAGE.equals(w.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE)));
    }

    /**
     * Registers the installer of {@code files}, then writes the watcher configurations.
     *
     * @param watchers what {@link Watchers#of} returned: not empty
     * @param changed  run, on FileInstall's thread, when FileInstall reports one of the files
     * @throws IOException when ConfigAdmin cannot write a watcher configuration; the installer is then unregistered
     */
    static FileWatch start(BundleContext context, ConfigurationAdmin configurationAdmin,
            Map<String, Map<String, Object>> watchers, Set<Path> files, Runnable changed) throws IOException {
        FileWatch watch = new FileWatch(configurationAdmin);
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(Constants.SERVICE_DESCRIPTION, "openkcm-keystore: config.yaml and the environment file");
        watch.installer = context.registerService(INSTALLER, new InputInstaller(files, changed), properties);
        try {
            write(configurationAdmin, watchers);
        } catch (IOException | RuntimeException e) {
            watch.installer.unregister();
            throw e;
        }
        return watch;
    }

    /** Deletes the watcher configurations of this bundle that are not in {@code watchers}, writes those that differ. */
    static void write(ConfigurationAdmin configurationAdmin, Map<String, Map<String, Object>> watchers) throws IOException {
        for (String name : Watchers.NAMES) {
            Map<String, Object> wanted = watchers.get(name);
            Configuration existing = find(configurationAdmin, name);
            if (wanted == null) {
                if (existing != null) {
                    existing.delete();
                }
            } else if (existing == null || existing.getProperties() == null
                    || !wanted.equals(Plan.stored(ConfigYaml.map(existing.getProperties())))) {
                configurationAdmin.getFactoryConfiguration(Watchers.FACTORY_PID, name, "?")
                        .update(new Hashtable<>(wanted));
            }
        }
    }

    /** Unregisters the installer and deletes the watcher configurations. */
    void close() throws IOException {
        try {
            installer.unregister();
        } catch (IllegalStateException e) {
            // already gone with the bundle's context
        }
        write(configurationAdmin, Map.of());
    }

    private static Configuration find(ConfigurationAdmin configurationAdmin, String name) throws IOException {
        try {
            Configuration[] found = configurationAdmin.listConfigurations(
                    "(" + Names.SERVICE_PID + "=" + ConfigYaml.escape(Watchers.FACTORY_PID + "~" + name) + ")");
            return found == null || found.length == 0 ? null : found[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
