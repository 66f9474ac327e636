package org.openkcm.keystore.shell;

import java.lang.annotation.Annotation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Function;
import org.apache.felix.service.command.Parameter;

/**
 * One {@code keystore:} command as the shells call it: a Gogo {@link Function} that binds the
 * words typed to the parameters of the command's method, the way Gogo's own reflective call does
 * (each {@link Parameter} option by name, wherever it stands, then the other words in order), and
 * refuses words that do not fit with a {@link UsageException} whose message is the command's
 * usage line and what was wrong: an argument missing or one too many, an option without its
 * value, or an unknown option.
 * <p>
 * Why not let Gogo bind them: its refusal is an {@code IllegalArgumentException} naming Java
 * types ({@code Cannot coerce show() to any of [(String)]}), which the interactive console prints
 * as it is; and a word such as {@code --x} where the command takes one argument is bound as that
 * argument, so the command fails on it as bad input instead of bad usage. Calling Gogo's binder
 * and translating its refusals would need its implementation package, which Karaf's shell keeps
 * private; this class needs only the command API both shells export.
 * <p>
 * The commands follow conventions that make the binding unambiguous: parameters are
 * {@code String}, {@code boolean} flags, a last {@code String...}, or the {@link CommandSession};
 * an argument may be left out only where {@link Usage} says so (its placeholder in brackets);
 * no positional word starts with {@code -} and is longer than one character (key names start
 * with a letter or digit; {@code -} alone is standard input), so such a word is an option.
 */
final class CheckedCommand implements Function {

    private final Object target;
    private final Method method;

    /**
     * @param target the object holding the command (e.g. a {@link KeyCommands})
     * @param method its public method, annotated as {@link Usage} reads it
     */
    CheckedCommand(Object target, Method method) {
        this.target = target;
        this.method = method;
    }

    /** The command's name, e.g. {@code import} for the method {@code _import}. */
    String name() {
        return Usage.functionName(method);
    }

    /** What the command does: its method's {@link Descriptor}. */
    String description() {
        Descriptor d = method.getAnnotation(Descriptor.class);
        return d == null ? "" : d.value();
    }

    @Override
    public Object execute(CommandSession session, List<Object> arguments) throws Exception {
        Object[] values = bind(session, arguments);
        try {
            return method.invoke(target, values);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    /** The method's arguments for the words, or a {@link UsageException} if they do not fit. */
    Object[] bind(CommandSession session, List<Object> arguments) {
        List<String> words = new ArrayList<>(arguments.size());
        for (Object argument : arguments) {
            words.add(argument == null ? null : argument.toString());
        }
        Class<?>[] types = method.getParameterTypes();
        Annotation[][] annotations = method.getParameterAnnotations();
        Object[] values = new Object[types.length];
        // options first, as Gogo takes them: the first occurrence of one of its names, anywhere
        for (int i = 0; i < types.length; i++) {
            Parameter option = parameter(annotations[i]);
            if (option != null) {
                values[i] = convert(types[i], option(option, words));
            }
        }
        for (String word : words) {
            if (looksLikeOption(word)) {
                throw refused("unknown option " + word);
            }
        }
        List<Usage.Argument> positional = Usage.arguments(method).stream().filter(a -> a.option() == null).toList();
        int next = 0;
        for (int i = 0; i < types.length; i++) {
            if (types[i] == CommandSession.class) {
                values[i] = session;
            } else if (parameter(annotations[i]) == null) {
                Usage.Argument argument = positional.get(next++);
                if (words.isEmpty() && !argument.required()) {
                    continue; // an optional argument left out: null
                }
                if (words.isEmpty()) {
                    throw refused(argument.placeholder() + " is missing");
                }
                if (types[i].isArray()) {
                    values[i] = words.toArray(new String[0]);
                    words.clear();
                } else {
                    values[i] = convert(types[i], words.remove(0));
                }
            }
        }
        if (!words.isEmpty()) {
            throw refused("unexpected argument " + words.get(0));
        }
        return values;
    }

    /** The option's value, taken out of the words; its absentValue if it is not there. */
    private String option(Parameter option, List<String> words) {
        for (String name : option.names()) {
            int at = words.indexOf(name);
            if (at < 0) {
                continue;
            }
            words.remove(at);
            if (!Parameter.UNSPECIFIED.equals(option.presentValue())) {
                return option.presentValue(); // a flag
            }
            if (at >= words.size()) {
                throw refused(name + " needs a value");
            }
            return words.remove(at);
        }
        return option.absentValue();
    }

    private static boolean looksLikeOption(String word) {
        return word != null && word.length() > 1 && word.startsWith("-");
    }

    private static Object convert(Class<?> type, String word) {
        return type == boolean.class || type == Boolean.class ? Boolean.valueOf(word) : word;
    }

    private UsageException refused(String why) {
        return new UsageException(Usage.of(method) + " (" + why + ")");
    }

    private static Parameter parameter(Annotation[] annotations) {
        for (Annotation a : annotations) {
            if (a instanceof Parameter p) {
                return p;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return Usage.SCOPE + ":" + name();
    }
}
