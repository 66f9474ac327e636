package org.openkcm.keystore.runtime;

import java.io.PrintStream;
import java.lang.reflect.Array;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
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
 */
final class CommandRunner {

    static final int OK = 0;
    static final int FAILED = 1;

    private static final Pattern ASSIGNMENT = Pattern.compile("\\s*[\\w.-]+\\s*=(?!=)");

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
                return fail(origin, firstLine, Messages.oneLine(e));
            }
        }
        if (statement.length() > 0) {
            return fail(origin, firstLine, "the statement is not complete: a brace, bracket or quote is not closed");
        }
        out.flush();
        return OK;
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
