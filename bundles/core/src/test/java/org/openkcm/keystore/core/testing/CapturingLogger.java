package org.openkcm.keystore.core.testing;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.osgi.service.log.Logger;

/** An OSGi {@link Logger} (a dynamic proxy) that keeps every message and argument it is given, as text. */
public final class CapturingLogger {
    private final List<String> lines = new ArrayList<>();
    private final Logger logger;

    public CapturingLogger() {
        logger = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "getName":
                            return "capturing";
                        case "toString":
                            return "CapturingLogger";
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        case "equals":
                            return proxy == args[0];
                        default:
                            if (method.getName().startsWith("is")) {
                                return true;
                            }
                            synchronized (lines) {
                                lines.add(method.getName() + " " + (args == null ? "" : render(args)));
                            }
                            return null;
                    }
                });
    }

    private static String render(Object[] args) {
        StringBuilder out = new StringBuilder();
        for (Object arg : args) {
            if (arg instanceof Object[] array) {
                out.append(Arrays.deepToString(array));
            } else if (arg instanceof Throwable t) {
                out.append(t).append(' ').append(Arrays.toString(t.getStackTrace()));
            } else {
                out.append(arg);
            }
            out.append(' ');
        }
        return out.toString();
    }

    public Logger logger() {
        return logger;
    }

    public List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    public String text() {
        return String.join("\n", lines());
    }
}
