package org.openkcm.keystore.runtime;

import java.io.PrintStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Locale;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Copies the entries of the OSGi log service (the log bundle keeps them in memory, for the
 * shell's {@code log} command) to standard error, one line each, from the level set by the system
 * property {@value #PROPERTY} up: {@code error}, {@code warn}, {@code info} or {@code off}. The
 * default is {@code warn} for {@code --daemon}, which has no shell to ask, and {@code off}
 * otherwise. A line is {@code error|warning|info: [<bundle>] <message>: <exception message>},
 * never a stack trace. Bundles must keep secrets out of what they log; this adds no detail to an entry.
 * <p>
 * The log API lives in the log bundle, not on the launcher's class path: the listener is a
 * {@link Proxy} of the bundle's own {@code LogListener} interface, and entries are read through
 * reflection, like {@link GogoSession}.
 */
final class ConsoleLog implements InvocationHandler {

    static final String PROPERTY = "openkcm.log.console";

    private static final String LOG = "org.osgi.service.log.";
    private static final String[] LEVELS = {"off", "error", "warn", "info"};
    private static final String[] PREFIXES = {"", "error", "warning", "info"};

    private final PrintStream err;
    private final int threshold;
    /** The bundle's LogEntry interface, whose public methods read an entry. */
    private volatile Class<?> entryType;

    private ConsoleLog(PrintStream err, int threshold) {
        this.err = err;
        this.threshold = threshold;
    }

    /** The level for the mode: 0 off, 1 error, 2 warn, 3 info. */
    static int threshold(Mode mode) {
        String level = System.getProperty(PROPERTY, mode == Mode.DAEMON ? "warn" : "off").trim().toLowerCase(Locale.ROOT);
        for (int i = 0; i < LEVELS.length; i++) {
            if (LEVELS[i].equals(level)) {
                return i;
            }
        }
        return 2;
    }

    /** Adds a listener to every log reader service, for as long as the framework runs; nothing when off. */
    static void attach(BundleContext context, PrintStream err, int threshold) {
        if (threshold <= 0) {
            return;
        }
        ConsoleLog handler = new ConsoleLog(err, threshold);
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, LOG + "LogReaderService", null) {
            @Override
            public Object addingService(ServiceReference<Object> reference) {
                Object reader = super.addingService(reference);
                if (reader != null) {
                    handler.listen(reference.getBundle(), reader);
                }
                return reader;
            }
        };
        tracker.open(true);
    }

    private void listen(Bundle logBundle, Object reader) {
        try {
            entryType = logBundle.loadClass(LOG + "LogEntry");
            Class<?> listenerType = logBundle.loadClass(LOG + "LogListener");
            Object listener = Proxy.newProxyInstance(listenerType.getClassLoader(), new Class<?>[] {listenerType}, this);
            logBundle.loadClass(LOG + "LogReaderService").getMethod("addLogListener", listenerType)
                    .invoke(reader, listener);
        } catch (ReflectiveOperationException | RuntimeException e) {
            err.println("warning: the log is not copied to the console: " + Messages.oneLine(e));
        }
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        switch (method.getName()) {
            case "logged":
                logged(args[0]);
                return null;
            case "hashCode":
                return System.identityHashCode(proxy);
            case "equals":
                return proxy == args[0];
            case "toString":
                return "openkcm-keystore console log";
            default:
                return null;
        }
    }

    private void logged(Object entry) throws ReflectiveOperationException {
        Class<?> type = entryType;
        int level = (Integer) call(entry, type, "getLevel");
        if (level < 1 || level > threshold) {
            return;
        }
        String message = String.valueOf(call(entry, type, "getMessage"));
        if (message.startsWith("BundleEvent ") || message.startsWith("ServiceEvent ")
                || message.startsWith("FrameworkEvent ")) {
            return; // the framework's own events: the framework log reports their failures
        }
        Bundle bundle = (Bundle) call(entry, type, "getBundle");
        Throwable failure = (Throwable) call(entry, type, "getException");
        StringBuilder line = new StringBuilder(PREFIXES[level]).append(": ");
        if (bundle != null) {
            line.append('[').append(bundle.getSymbolicName()).append("] ");
        }
        line.append(message.strip().replaceAll("\\s*[\\r\\n]+\\s*", " "));
        if (failure != null) {
            line.append(": ").append(Messages.oneLine(failure));
        }
        err.println(line);
    }

    private static Object call(Object target, Class<?> type, String name) throws ReflectiveOperationException {
        return type.getMethod(name).invoke(target);
    }
}
