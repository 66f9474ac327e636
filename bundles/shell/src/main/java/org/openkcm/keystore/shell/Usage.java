package org.openkcm.keystore.shell;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;

/**
 * The usage line and help of every {@code keystore:} command, read from the annotations of its
 * method: {@link Descriptor} on the method (what it does) and on each parameter, {@link Parameter}
 * on options and flags. This is the one place usage is written; no command spells its own.
 * <p>
 * Conventions the commands follow: an option whose {@code absentValue} is
 * {@link Arguments#REQUIRED} is required (listed first, without brackets); a parameter's
 * descriptor starts with the placeholder of its value, then {@code " - "} and the words, e.g.
 * {@code "KIND/ID - owner, e.g. tenant/acme"}; a flag (an option with a {@code presentValue})
 * has words only; an argument that may be left out has its placeholder in brackets, e.g.
 * {@code "[COMMAND] - ..."} (the method gets null).
 */
final class Usage {
    /** The classes that hold {@code keystore:} commands. */
    static final List<Class<?>> COMMAND_CLASSES = List.of(KeyCommands.class, AdminCommands.class,
            TransactionCommands.class, HelpCommands.class);
    static final String SCOPE = "keystore";
    private static final String SEPARATOR = " - ";

    /** One parameter of a command as the user types it. */
    record Argument(String option, String placeholder, String words, boolean required, boolean flag,
            boolean repeated, String defaultValue) {

        /** How it appears in the usage line. */
        String synopsis() {
            String text = flag ? option : option == null ? placeholder + (repeated ? "..." : "") : option + " " + placeholder;
            return required || option == null ? text : "[" + text + "]";
        }

        /** How it appears in a help list: the name and its value. */
        String term() {
            return flag ? option : option == null ? placeholder + (repeated ? "..." : "") : option + " " + placeholder;
        }
    }

    private Usage() {
    }

    /** Every command by name (its function name, e.g. {@code import} for the method {@code _import}). */
    static Map<String, Method> commands() {
        Map<String, Method> all = new TreeMap<>();
        for (Class<?> type : COMMAND_CLASSES) {
            for (Method m : type.getMethods()) {
                if (m.getDeclaringClass() == type && m.isAnnotationPresent(Descriptor.class)) {
                    all.put(functionName(m), m);
                }
            }
        }
        return all;
    }

    /** A command whose name is a Java keyword is the method named with a leading '_' (as Gogo maps it). */
    static String functionName(Method m) {
        return m.getName().startsWith("_") ? m.getName().substring(1) : m.getName();
    }

    /** The method of a command, given as {@code NAME} or {@code keystore:NAME}; null if there is none. */
    static Method command(String name) {
        String function = name.startsWith(SCOPE + ":") ? name.substring(SCOPE.length() + 1) : name;
        return commands().get(function);
    }

    /** The usage line of a command: {@code usage: keystore:NAME required-options [options] [flags] arguments}. */
    static String of(String name) {
        Method m = command(name);
        if (m == null) {
            throw new IllegalArgumentException("no command keystore:" + name);
        }
        return of(m);
    }

    static String of(Method m) {
        List<Argument> arguments = arguments(m);
        StringBuilder line = new StringBuilder("usage: " + SCOPE + ":" + functionName(m));
        // required options, then the others, then flags, then the positional arguments in order
        arguments.stream().filter(a -> a.option() != null && a.required()).forEach(a -> line.append(' ').append(a.synopsis()));
        arguments.stream().filter(a -> a.option() != null && !a.required() && !a.flag())
                .forEach(a -> line.append(' ').append(a.synopsis()));
        arguments.stream().filter(Argument::flag).forEach(a -> line.append(' ').append(a.synopsis()));
        arguments.stream().filter(a -> a.option() == null).forEach(a -> line.append(' ').append(a.synopsis()));
        return line.toString();
    }

    /** The help of one command: what it does, its usage line, and each argument with its words. */
    static String help(Method m) {
        List<Argument> arguments = arguments(m);
        StringBuilder out = new StringBuilder();
        out.append(SCOPE).append(':').append(functionName(m)).append(" - ")
                .append(m.getAnnotation(Descriptor.class).value()).append('\n');
        out.append(of(m)).append('\n');
        section(out, "required options", arguments.stream().filter(a -> a.option() != null && a.required()).toList());
        section(out, "options", arguments.stream().filter(a -> a.option() != null && !a.required() && !a.flag()).toList());
        section(out, "flags", arguments.stream().filter(Argument::flag).toList());
        section(out, "arguments (required)", arguments.stream().filter(a -> a.option() == null && a.required()).toList());
        section(out, "arguments (optional)", arguments.stream().filter(a -> a.option() == null && !a.required()).toList());
        return out.toString().stripTrailing();
    }

    private static void section(StringBuilder out, String title, List<Argument> arguments) {
        if (arguments.isEmpty()) {
            return;
        }
        int width = arguments.stream().mapToInt(a -> a.term().length()).max().orElse(0);
        out.append("   ").append(title).append(":\n");
        for (Argument a : arguments) {
            out.append("      ").append(a.term()).append(" ".repeat(width - a.term().length() + 3)).append(a.words());
            if (a.defaultValue() != null) {
                out.append(" (default ").append(a.defaultValue()).append(')');
            }
            out.append('\n');
        }
    }

    static List<Argument> arguments(Method m) {
        List<Argument> out = new ArrayList<>();
        Class<?>[] types = m.getParameterTypes();
        Annotation[][] annotations = m.getParameterAnnotations();
        for (int i = 0; i < types.length; i++) {
            if (types[i] == CommandSession.class) {
                continue;
            }
            Parameter p = find(annotations[i], Parameter.class);
            Descriptor d = find(annotations[i], Descriptor.class);
            String text = d == null ? "" : d.value();
            boolean flag = p != null && !Parameter.UNSPECIFIED.equals(p.presentValue());
            String placeholder = "VALUE";
            String words = text;
            int at = text.indexOf(SEPARATOR);
            if (!flag && at > 0 && text.substring(0, at).indexOf(' ') < 0) {
                placeholder = text.substring(0, at);
                words = text.substring(at + SEPARATOR.length());
            }
            if (p == null) {
                boolean optional = placeholder.startsWith("[") && placeholder.endsWith("]");
                out.add(new Argument(null, placeholder, words, !optional, false, types[i].isArray(), null));
                continue;
            }
            boolean required = Arguments.REQUIRED.equals(p.absentValue());
            String absent = p.absentValue();
            String defaultValue = flag || required || Arguments.ABSENT.equals(absent) ? null : absent;
            out.add(new Argument(p.names()[0], placeholder, words, required, flag, false, defaultValue));
        }
        return out;
    }

    private static <T extends Annotation> T find(Annotation[] annotations, Class<T> type) {
        for (Annotation a : annotations) {
            if (type.isInstance(a)) {
                return type.cast(a);
            }
        }
        return null;
    }
}
