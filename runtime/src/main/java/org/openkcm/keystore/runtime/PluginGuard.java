package org.openkcm.keystore.runtime;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.Map;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;

/**
 * Refuses a jar dropped into {@code plugins/} whose {@code Bundle-SymbolicName} is that of a
 * built-in bundle (one of {@code bundle/}): FileInstall would otherwise update the built-in bundle
 * with it (same name and version) or install it beside it, and removing the jar would uninstall
 * the built-in. The guard is a FileInstall {@code ArtifactInstaller} of the highest ranking: FileInstall
 * asks its installers before it handles a jar as a bundle itself, so such a jar reaches the guard,
 * which prints one line and installs nothing; removing the jar changes nothing either.
 * <p>
 * The FileInstall API is not on the launcher's class path: the installer is a {@link Proxy} of the
 * FileInstall bundle's own interface, registered from the system bundle before FileInstall starts.
 */
final class PluginGuard implements InvocationHandler {

    static final String INSTALLER = "org.apache.felix.fileinstall.ArtifactInstaller";
    private static final String FILEINSTALL = "org.apache.felix.fileinstall";

    private final Path plugins;
    /** Built-in symbolic name to its jar in {@code bundle/}. */
    private final Map<String, Path> builtIns;
    private final PrintStream err;

    private PluginGuard(Path plugins, Map<String, Path> builtIns, PrintStream err) {
        this.plugins = plugins.toAbsolutePath().normalize();
        this.builtIns = Map.copyOf(builtIns);
        this.err = err;
    }

    /** Registers the guard if FileInstall is installed; the framework is initialised, not yet started. */
    static void register(BundleContext context, Path plugins, Map<String, Path> builtIns, PrintStream err) {
        for (Bundle bundle : context.getBundles()) {
            if (!FILEINSTALL.equals(bundle.getSymbolicName())) {
                continue;
            }
            try {
                Class<?> installer = bundle.loadClass(INSTALLER);
                Object guard = Proxy.newProxyInstance(installer.getClassLoader(), new Class<?>[] {installer},
                        new PluginGuard(plugins, builtIns, err));
                Hashtable<String, Object> properties = new Hashtable<>();
                properties.put(Constants.SERVICE_RANKING, Integer.MAX_VALUE);
                properties.put(Constants.SERVICE_DESCRIPTION, "openkcm-keystore: plugins/ may not replace a built-in bundle");
                context.registerService(INSTALLER, guard, properties);
            } catch (ClassNotFoundException | RuntimeException e) {
                err.println("warning: plugins/ is not guarded against jars named like a built-in bundle: "
                        + Messages.oneLine(e));
            }
            return;
        }
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
            case "canHandle":
                return builtInNamed((File) args[0]) != null;
            case "install":
            case "update":
                refuse((File) args[0]);
                return null;
            case "uninstall":
                return null; // nothing was installed for it: the built-in stays as it is
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            case "toString":
                return "openkcm-keystore plugins/ guard";
            default:
                return null;
        }
    }

    /** The symbolic name if the file is a jar in plugins/ named like a built-in bundle, else null. */
    String builtInNamed(File file) {
        Path path = file.toPath().toAbsolutePath().normalize();
        if (!plugins.equals(path.getParent()) || !file.getName().endsWith(".jar") || !file.isFile()) {
            return null;
        }
        try {
            String name = KeystoreRuntime.symbolicName(path);
            return builtIns.containsKey(name) ? name : null;
        } catch (IOException | RuntimeException e) {
            return null; // not a readable jar: FileInstall reports it
        }
    }

    private void refuse(File file) {
        String name = builtInNamed(file);
        err.println("error: plugins/" + file.getName() + " is refused: its Bundle-SymbolicName " + name
                + " is that of the built-in bundle/" + builtIns.get(name).getFileName()
                + "; nothing was installed or changed (give the plugin a symbolic name of its own)");
    }
}
