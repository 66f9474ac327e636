package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The interactive shell as a person at a terminal meets it: {@code bin/keystore} runs on a real
 * pseudo-terminal (util-linux {@code script}), so Gogo's JLine console edits lines, completes
 * command names with Tab, recalls history with the Up arrow from a file in the home, answers a
 * wrong call with the command's usage line, and stops on {@code exit}, {@code exit N} and Ctrl-D
 * with nothing alarming on the screen.
 */
class InteractiveConsoleIT {

    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration STEP = Duration.ofSeconds(20);
    private static final String PROMPT = "keystore> ";
    /** The Up arrow as a terminal sends it in the application cursor mode the console switches on. */
    private static final String UP = "\u001bOA";
    private static final String CTRL_D = "\u0004";
    /** A line of the backends table: the default in-memory backend, active. */
    private static final Pattern MEMORY_ROW = Pattern.compile("(?m)^memory\\s+ACTIVE\\b");

    @Test
    void tabCompletesUpRecallsAndExitSetsTheStatus(TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy(test.getTestMethod().orElseThrow().getName());
        try (Distribution.Running shell = distribution.startOnTerminal()) {
            type(shell, 1, "keystore:backe\t\r");
            awaitCount(shell, MEMORY_ROW, 1);

            type(shell, 2, UP + "\r");
            awaitCount(shell, MEMORY_ROW, 2);

            type(shell, 3, "exit 4\r");
            assertEquals(4, exitStatus(shell), shell::toString);
            assertCalm(shell);
        }
        String history = Files.readString(distribution.path("data/shell.history"), StandardCharsets.UTF_8);
        assertTrue(history.contains("keystore:backends"), history);
        assertEquals("rw-------", permissions(distribution.path("data/shell.history")));
    }

    @Test
    void historySurvivesARestartAndCtrlDStopsCleanly(TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy(test.getTestMethod().orElseThrow().getName());
        try (Distribution.Running first = distribution.startOnTerminal()) {
            type(first, 1, "keystore:backends\r");
            awaitCount(first, MEMORY_ROW, 1);
            type(first, 2, "exit\r");
            assertEquals(0, exitStatus(first), first::toString);
            assertCalm(first);
        }
        try (Distribution.Running second = distribution.startOnTerminal()) {
            // The last line of the previous session, recalled: "exit" is newest, backends before it.
            type(second, 1, UP + UP + "\r");
            awaitCount(second, MEMORY_ROW, 1);
            type(second, 2, CTRL_D);
            assertEquals(0, exitStatus(second), second::toString);
            assertCalm(second);
        }
    }

    @Test
    void aWrongCallPrintsTheUsageLineAndNoGogoInternals(TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy(test.getTestMethod().orElseThrow().getName());
        try (Distribution.Running shell = distribution.startOnTerminal()) {
            type(shell, 1, "keystore:show\r");
            awaitCount(shell, Pattern.compile(Pattern.quote("usage: keystore:show NAME:VERSION (NAME:VERSION is missing)")), 1);

            type(shell, 2, "keystore:generate a b c d\r");
            awaitCount(shell, Pattern.compile("usage: keystore:generate --type L2\\|L3\\|L4 --owner KIND/ID .* NAME"
                    + Pattern.quote(" (unexpected argument b)")), 1);

            type(shell, 3, "keystore:show --x\r");
            awaitCount(shell, Pattern.compile(Pattern.quote("usage: keystore:show NAME:VERSION (unknown option --x)")), 1);

            type(shell, 4, "help a b\r");
            awaitCount(shell, Pattern.compile(Pattern.quote("usage: keystore:help [COMMAND] (unexpected argument b)")), 1);

            // the console still works after them
            type(shell, 5, "keystore:backends\r");
            awaitCount(shell, MEMORY_ROW, 1);
            type(shell, 6, "exit\r");
            assertEquals(0, exitStatus(shell), shell::toString);
            assertCalm(shell);
            String screen = shell.out() + shell.err();
            for (String internal : new String[] {"Cannot coerce", "IllegalArgument", "UsageException", "java.lang", "(String"}) {
                assertFalse(screen.contains(internal), () -> internal + " on the screen\n" + screen);
            }
        }
    }

    /**
     * Types the keys once the console has drawn its prompt for the n-th time: keys typed earlier
     * reach a terminal not yet in the console's raw mode, where the line discipline handles them.
     */
    private static void type(Distribution.Running shell, int prompt, String keys) throws Exception {
        Distribution.eventually(prompt == 1 ? START : STEP, () -> assertTrue(
                Pattern.compile(Pattern.quote(PROMPT)).matcher(shell.out()).results().count() >= prompt,
                shell::toString));
        var input = shell.process().getOutputStream();
        input.write(keys.getBytes(StandardCharsets.UTF_8));
        input.flush();
    }

    private static void awaitCount(Distribution.Running shell, Pattern pattern, long count) throws Exception {
        Distribution.eventually(STEP, () -> assertEquals(count, pattern.matcher(shell.out()).results().count(),
                shell::toString));
    }

    private static int exitStatus(Distribution.Running shell) throws InterruptedException {
        if (!shell.process().waitFor(KeystoreRuntime.stopTimeout().toSeconds() + 10, TimeUnit.SECONDS)) {
            fail("the shell did not stop\n" + shell);
        }
        return shell.process().exitValue();
    }

    /** Nothing alarming reached the screen: no exception, no stack trace, no raw escape sequence. */
    private static void assertCalm(Distribution.Running shell) {
        String screen = shell.out() + shell.err();
        assertFalse(screen.contains("Exception"), screen);
        assertFalse(screen.contains("\tat "), screen);
        assertFalse(screen.contains("^[[A"), screen);
    }

    private static String permissions(Path file) throws IOException {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }
}
