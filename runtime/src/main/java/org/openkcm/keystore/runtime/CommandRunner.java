package org.openkcm.keystore.runtime;

import java.io.PrintStream;
import java.lang.reflect.Array;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs Gogo commands for {@code bin/keystore -c} and {@code bin/keystore <script>}: statement by
 * statement, the way the interactive shell does, so that every statement's result is printed and
 * a failure is reported where it happened.
 * <p>
 * The input is read line by line; a line that leaves a statement open (an unclosed brace, bracket
 * or quote: Gogo's {@code EOFError}, raised while parsing, before anything runs) is joined with
 * the lines that follow. A statement's result is printed as the shell formats it, unless it is
 * null or holds only nulls (see {@link #printable}) or the statement is an assignment. The first
 * statement that throws stops the run: its message is printed as one line on standard error,
 * {@code error: <message>} (for a script, {@code error: <file>:<line>: <message>}), and the
 * status is {@link #FAILED}.
 * <p>
 * Bad usage of a {@code keystore:} command is told apart, in this one place for every command:
 * the shell bundle refuses words that do not fit a command (an argument missing, one too many, an
 * unknown option, a missing required option) with a message that starts with
 * {@code usage: keystore:NAME ...}, the command's usage line and what was wrong, which is printed
 * as it is (for a script, {@code <file>:<line>: usage: ...}); the status is {@link #USAGE}. Gogo's
 * own refusal to bind words to a method (an {@code IllegalArgumentException}
 * {@code "Cannot coerce NAME(...) to any of [...]"}), which the shell bundle's commands no longer
 * meet (each is called through its check), is still replaced by the usage line
 * {@code keystore:help} prints, with the same status, for a {@code keystore:} command registered
 * as a plain object.
 */
final class CommandRunner {

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = Main.USAGE;

    private static final Pattern ASSIGNMENT = Pattern.compile("\\s*[\\w.-]+\\s*=(?!=)");
    /** Gogo's message when the words do not fit the command's method: {@code Cannot coerce NAME(...)}. */
    private static final Pattern COERCION = Pattern.compile("^Cannot coerce _?([A-Za-z][\\w]*)\\(");
    private static final String SCOPE = "keystore:";

    /** Executes one Gogo program; implemented by {@link GogoSession}. */
    interface Executor {
        Object execute(CharSequence program) throws Exception;

        CharSequence format(Object value) throws Exception;
    }

    private final Executor executor;
    private final PrintStream out;
    private final PrintStream err;

    CommandRunner(Executor executor, PrintStream out, PrintStream err) {
        this.executor = executor;
        this.out = out;
        this.err = err;
    }

    /**
     * Runs the lines, stopping at the first failure.
     *
     * @param origin the script's name for error lines, or null for a command line
     * @return {@link #OK} if every statement succeeded, {@link #FAILED} otherwise
     */
    int run(List<String> lines, String origin) {
        StringBuilder statement = new StringBuilder();
        int firstLine = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (statement.length() == 0) {
                String trimmed = line.strip();
                if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                    continue;
                }
                firstLine = i + 1;
            } else {
                statement.append('\n');
            }
            statement.append(line);
            try {
                Object result = executor.execute(statement);
                boolean print = !isAssignment(statement) && printable(result);
                statement.setLength(0);
                if (print) {
                    out.println(executor.format(result));
                }
            } catch (Exception e) {
                if (GogoSession.isIncompleteInput(e)) {
                    continue;
                }
                String usage = usage(statement, e);
                if (usage != null) {
                    out.flush();
                    err.println(origin == null ? usage : origin + ":" + firstLine + ": " + usage);
                    err.flush();
                    return USAGE;
                }
                return fail(origin, firstLine, Messages.oneLine(e));
            }
        }
        if (statement.length() > 0) {
            return fail(origin, firstLine, "the statement is not complete: a brace, bracket or quote is not closed");
        }
        out.flush();
        return OK;
    }

    /**
     * The usage line to print for a failure that is bad usage of a {@code keystore:} command, or
     * null if it is not.
     */
    String usage(CharSequence statement, Exception failure) {
        String message = Messages.oneLine(failure);
        if (message.startsWith("usage: " + SCOPE)) {
            return message;
        }
        Matcher coercion = COERCION.matcher(message);
        if (!(failure instanceof IllegalArgumentException) || !coercion.find()) {
            return null;
        }
        String function = coercion.group(1);
        String command = statement.toString().strip().split("\\s+", 2)[0];
        if (!command.equals(SCOPE + function) && !command.equals(function)) {
            return null; // the failing call is not the statement's command (a nested one), or not ours
        }
        try {
            Object help = executor.execute(SCOPE + "help " + SCOPE + function);
            if (help != null) {
                for (String line : help.toString().split("\\R")) {
                    if (line.startsWith("usage: " + SCOPE + function)) {
                        return line;
                    }
                }
            }
        } catch (Exception notOurs) {
            // not a keystore: command, or no keystore:help here: Gogo's message stands
        }
        return null;
    }

    /** Whether the statement assigns a variable ({@code name = value}): its value is not printed. */
    static boolean isAssignment(CharSequence statement) {
        return ASSIGNMENT.matcher(statement).lookingAt();
    }

    /**
     * Whether a statement's result is worth printing: not null, and not a collection or array of
     * nothing but nulls (what {@code each} returns over commands that print for themselves).
     */
    static boolean printable(Object result) {
        if (result == null) {
            return false;
        }
        if (result instanceof Collection<?> values) {
            return values.stream().anyMatch(Objects::nonNull);
        }
        if (result.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(result); i++) {
                if (Array.get(result, i) != null) {
                    return true;
                }
            }
            return false;
        }
        return true;
    }

    private int fail(String origin, int line, String message) {
        out.flush();
        err.println(origin == null ? "error: " + message : "error: " + origin + ":" + line + ": " + message);
        err.flush();
        return FAILED;
    }
}
