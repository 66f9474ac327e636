package org.openkcm.keystore.runtime;

import java.io.PrintStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
 * <b>Configuration errors are printed at every level, {@code off} included</b>: an error of the
 * configuration bundle (a {@code config.yaml} or environment variable refused), a route or routing
 * policy the router refused, and a component that Declarative Services could not activate (a configuration its
 * component refused), which is printed as {@code error: [<bundle>] component <name> failed to
 * activate: <cause>}, the cause unwrapped from the reflection exception that carries it. They are
 * also recorded, so that the launcher can tell a start with an invalid configuration.
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

    /** What Felix SCR logs when a component fails to activate: {@code bundle <bsn>:<version> (<id>)[<component>(<id>)] : <what>}. */
    private static final Pattern SCR_ENTRY = Pattern.compile("^bundle (\\S+?)(?::\\S+)? \\(\\d+\\)\\[([^\\]]+?)(?:\\(\\d+\\))?\\] ?: ?(.*)$",
            Pattern.DOTALL);

    private final PrintStream err;
    private final int threshold;
    private final List<String> configurationErrors = new CopyOnWriteArrayList<>();
    /** The configuration errors printed, without the configuration file they name: each is said once. */
    private final java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile BundleContext context;
    /** Set once the launcher has said the start failed: what the stopping framework logs after that is not printed. */
    private boolean closed;
    /** The bundle's LogEntry interface, whose public methods read an entry. */
    private volatile Class<?> entryType;

    private ConsoleLog(PrintStream err, int threshold) {
        this.err = err;
        this.threshold = threshold;
    }

    /** A console log that reads entries through the given type, with no framework to ask (for tests). */
    ConsoleLog(PrintStream err, int threshold, Class<?> entryType) {
        this(err, threshold);
        this.entryType = entryType;
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

    /**
     * Adds a listener to every log reader service, for as long as the framework runs. At level
     * {@code off} only configuration errors are printed.
     */
    static ConsoleLog attach(BundleContext context, PrintStream err, int threshold) {
        ConsoleLog handler = new ConsoleLog(err, threshold);
        handler.context = context;
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
        return handler;
    }

    /** The configuration errors printed since the framework started, one line each, in order. */
    List<String> configurationErrors() {
        return List.copyOf(configurationErrors);
    }

    /**
     * Stops printing, once an entry being printed now is done, and returns the configuration errors
     * printed. The launcher calls it before it prints its own account of a failed start: the log
     * delivers entries late, and one delivered while the framework stops could no longer be matched
     * with what Declarative Services recorded, so it would say a refusal again in other words.
     */
    synchronized List<String> close() {
        closed = true;
        return configurationErrors();
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

    private synchronized void logged(Object entry) throws ReflectiveOperationException {
        if (closed) {
            return;
        }
        Class<?> type = entryType;
        int level = (Integer) call(entry, type, "getLevel");
        if (level < 1) {
            return;
        }
        String message = String.valueOf(call(entry, type, "getMessage"));
        if (message.startsWith("BundleEvent ") || message.startsWith("ServiceEvent ")
                || message.startsWith("FrameworkEvent ")) {
            return; // the framework's own events: the framework log reports their failures
        }
        Bundle bundle = (Bundle) call(entry, type, "getBundle");
        Throwable failure = (Throwable) call(entry, type, "getException");
        String bsn = bundle == null ? null : bundle.getSymbolicName();
        String activation = level == 1 ? activationFailure(message, failure, this::recordedFailure) : null;
        boolean configurationError = activation != null || (level == 1 && configurationError(bsn, message));
        if (level > threshold && !configurationError) {
            return;
        }
        if (activation == null && level == 1 && message.startsWith("bundle ") && SCR_ENTRY.matcher(message).matches()
                && threshold < 3) {
            return; // the other errors Declarative Services reports about a failed component: said once already
        }
        String line = line(level, bsn, activation != null ? activation : message, activation != null ? null : failure);
        if (configurationError) {
            String key = line.replaceFirst(" \\((file:|/)[^)]*\\) failed to activate: ", " failed to activate: ");
            if (seen.contains(key)) {
                return; // the same refusal again (a component asked for again): said once
            }
            seen.add(key);
            configurationErrors.add(line);
        }
        err.println(line);
    }

    /**
     * An error about configuration: any error of the configuration bundle ({@code config.yaml},
     * {@code OPENKCM__} variables), the router's refusal of a route or of the routing policy, and
     * the core's refusal of a KEK (its identity not the one recorded, no sealing KEK chosen, not on
     * the allow-list).
     * Other errors (recovery, migration) are not about configuration and follow the level.
     */
    static boolean configurationError(String bundle, String message) {
        if ("org.openkcm.keystore.config".equals(bundle)) {
            return true;
        }
        return "org.openkcm.keystore.core".equals(bundle)
                && (message.startsWith("Route ") && message.contains(" refused: ")
                        || message.startsWith("Routing policy refused: ") || message.startsWith("KEK refused: "));
    }

    static String line(int level, String bundle, String message, Throwable failure) {
        StringBuilder line = new StringBuilder(PREFIXES[level]).append(": ");
        if (bundle != null) {
            line.append('[').append(bundle).append("] ");
        }
        line.append(message.strip().replaceAll("\\s*[\\r\\n]+\\s*", " "));
        if (failure != null) {
            line.append(": ").append(Messages.oneLine(Messages.cause(failure)));
        }
        return line.toString();
    }

    /**
     * "component NAME failed to activate: CAUSE" for Declarative Services' report of a component
     * whose activation (its activate method or constructor) threw; null for any other entry.
     */
    static String activationFailure(String message, Throwable failure,
            java.util.function.Function<String, Readiness.FailedComponent> recorded) {
        Matcher m = SCR_ENTRY.matcher(message.strip());
        if (!m.matches()) {
            return null;
        }
        String what = m.group(3);
        if (!what.startsWith("The activate method has thrown an exception")
                && !what.startsWith("Error during instantiation of the implementation object")
                && !what.startsWith("The constructor has thrown an exception")) {
            return null;
        }
        String cause;
        if (failure != null) {
            cause = Messages.oneLine(Messages.cause(failure));
        } else {
            int colon = what.indexOf(": ");
            cause = colon < 0 ? what : what.substring(colon + 2);
        }
        String component = m.group(2);
        Readiness.FailedComponent dto = recorded.apply(component);
        if (dto != null) {
            // what Declarative Services recorded names the configuration file and holds the whole chain
            return dto.line();
        }
        if (cause.matches("(java\\.lang\\.reflect\\.)?InvocationTargetException(: null)?")) {
            cause = "its constructor or activate method threw (scr:info " + component + " shows why)";
        } else {
            // "org.example.SomeException: message" as the text of a wrapper: the message speaks
            cause = cause.replaceFirst("^([a-z_][\\w$]*\\.)+[A-Z][\\w$]*(Exception|Error): ", "");
        }
        return "component " + component + " failed to activate: " + cause;
    }

    /** Declarative Services' record of the failed component whose implementation class is given, or null. */
    private Readiness.FailedComponent recordedFailure(String implementation) {
        BundleContext c = context;
        if (c == null) {
            return null;
        }
        // Declarative Services may log the failure just before it records it: look a few times.
        for (int attempt = 0; attempt < 6; attempt++) {
            try {
                for (Readiness.FailedComponent f : Readiness.failedComponents(c)) {
                    if (f.implementation().equals(implementation) || f.name().equals(implementation)) {
                        return f;
                    }
                }
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            } catch (RuntimeException e) {
                return null; // the framework is stopping
            }
        }
        return null;
    }

    private static Object call(Object target, Class<?> type, String name) throws ReflectiveOperationException {
        return type.getMethod(name).invoke(target);
    }
}
