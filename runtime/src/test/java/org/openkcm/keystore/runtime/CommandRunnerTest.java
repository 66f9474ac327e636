package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.felix.gogo.runtime.EOFError;
import org.junit.jupiter.api.Test;

class CommandRunnerTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final List<String> executed = new ArrayList<>();

    /** A Gogo stand-in: a statement with more '{' than '}' is incomplete; "fail ..." throws; others return their text. */
    private final CommandRunner.Executor gogo = new CommandRunner.Executor() {
        @Override
        public Object execute(CharSequence program) throws Exception {
            String text = program.toString();
            if (text.chars().filter(c -> c == '{').count() > text.chars().filter(c -> c == '}').count()) {
                // as the session throws it: an EOFException caused by the parser's EOFError
                EOFException incomplete = new EOFException("eof");
                incomplete.initCause(new EOFError(1, 1, "eof", "compound", "}"));
                throw incomplete;
            }
            executed.add(text);
            if (text.startsWith("fail")) {
                throw new IllegalStateException("it failed:\n  " + text.substring(4).strip());
            }
            return text.startsWith("quiet") ? null : "<" + text + ">";
        }

        @Override
        public CharSequence format(Object value) {
            return value.toString();
        }
    };

    private int run(String origin, String... lines) {
        return new CommandRunner(gogo, print(out), print(err)).run(List.of(lines), origin);
    }

    @Test
    void runsEveryStatementAndPrintsEachResult() {
        assertEquals(CommandRunner.OK, run(null, "one", "quiet two", "three"));
        assertEquals(List.of("one", "quiet two", "three"), executed);
        assertEquals(List.of("<one>", "<three>"), lines(out));
        assertEquals(List.of(), lines(err));
    }

    @Test
    void nullsAndCollectionsOfNullsAreNotPrinted() {
        assertEquals(false, CommandRunner.printable(null));
        assertEquals(false, CommandRunner.printable(java.util.Arrays.asList(null, null)));
        assertEquals(false, CommandRunner.printable(new Object[] {null}));
        assertEquals(true, CommandRunner.printable(java.util.Arrays.asList(null, "x")));
        assertEquals(true, CommandRunner.printable(new int[] {0}));
        assertEquals(true, CommandRunner.printable(""));
    }

    @Test
    void theValueOfAnAssignmentIsNotPrinted() {
        assertEquals(CommandRunner.OK, run(null, "x = one", "y=two", "echo a=b", "x == y"));
        assertEquals(List.of("<echo a=b>", "<x == y>"), lines(out));
    }

    @Test
    void joinsTheLinesOfAStatementThatIsNotComplete() {
        assertEquals(CommandRunner.OK, run("s.gosh", "each [a b] {", "  echo $it", "}", "after"));
        assertEquals(List.of("each [a b] {\n  echo $it\n}", "after"), executed);
    }

    @Test
    void skipsBlankLinesAndComments() {
        assertEquals(CommandRunner.OK, run("s.gosh", "# comment", "", "   ", "  # indented", "one"));
        assertEquals(List.of("one"), executed);
    }

    @Test
    void stopsAtTheFirstFailureWithOneErrorLine() {
        assertEquals(CommandRunner.FAILED, run(null, "one", "fail badly", "never"));
        assertEquals(List.of("one", "fail badly"), executed);
        assertEquals(List.of("<one>"), lines(out));
        assertEquals(List.of("error: it failed: badly"), lines(err));
    }

    @Test
    void aScriptFailureNamesTheFileAndTheStatementsFirstLine() {
        assertEquals(CommandRunner.FAILED, run("s.gosh", "# comment", "one", "fail {", "  x", "}"));
        assertEquals(List.of("error: s.gosh:3: it failed: {\n  x\n}".replaceAll("\\s*\\n\\s*", " ")), lines(err));
    }

    @Test
    void aStatementLeftOpenAtTheEndIsAnError() {
        assertEquals(CommandRunner.FAILED, run("s.gosh", "one", "each [a] {", "  echo"));
        assertEquals(List.of("one"), executed);
        assertEquals(List.of("error: s.gosh:2: the statement is not complete: a brace, bracket or quote is not closed"),
                lines(err));
    }

    /** Gogo with the keystore commands: a call that does not bind fails as Gogo's Reflective does. */
    private final CommandRunner.Executor keystore = new CommandRunner.Executor() {
        @Override
        public Object execute(CharSequence program) {
            String text = program.toString();
            executed.add(text);
            return switch (text) {
                case "keystore:help keystore:show" -> "keystore:show - show one key\nusage: keystore:show NAME:VERSION\n";
                case "keystore:show", "show", "lb 1 2" -> throw new IllegalArgumentException(
                        "Cannot coerce " + (text.equals("lb 1 2") ? "lb" : "show") + "() to any of [(String)]");
                case "keystore:generate k" -> throw new IllegalArgumentException(
                        "usage: keystore:generate --type L2|L3|L4 NAME (--type is required)");
                default -> throw new IllegalStateException("no command " + text);
            };
        }

        @Override
        public CharSequence format(Object value) {
            return value.toString();
        }
    };

    private int runKeystore(String origin, String... lines) {
        return new CommandRunner(keystore, print(out), print(err)).run(List.of(lines), origin);
    }

    @Test
    void aKeystoreCommandCalledTheWrongWayPrintsItsUsageLineAndExits2() {
        assertEquals(CommandRunner.USAGE, runKeystore(null, "keystore:show"));
        assertEquals(List.of("usage: keystore:show NAME:VERSION"), lines(err));
        assertEquals(List.of("keystore:show", "keystore:help keystore:show"), executed);
        err.reset();
        assertEquals(CommandRunner.USAGE, runKeystore("s.gosh", "# x", "show"));
        assertEquals(List.of("s.gosh:2: usage: keystore:show NAME:VERSION"), lines(err));
        err.reset();
        assertEquals(CommandRunner.USAGE, runKeystore(null, "keystore:generate k"));
        assertEquals(List.of("usage: keystore:generate --type L2|L3|L4 NAME (--type is required)"), lines(err));
        assertEquals(List.of(), lines(out));
    }

    @Test
    void otherCommandsKeepGogosMessageAndExit1() {
        assertEquals(CommandRunner.FAILED, runKeystore(null, "lb 1 2"));
        assertEquals(List.of("error: Cannot coerce lb() to any of [(String)]"), lines(err));
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    private static List<String> lines(ByteArrayOutputStream bytes) {
        return bytes.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
