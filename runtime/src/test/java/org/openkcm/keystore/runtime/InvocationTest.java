package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

class InvocationTest {

    @Test
    void noArgumentIsTheInteractiveShell() {
        assertEquals(Mode.INTERACTIVE, Invocation.parse().mode());
    }

    @Test
    void daemonAndServeAreLongLivedWithoutAConsole() {
        assertEquals(Mode.DAEMON, Invocation.parse("--daemon").mode());
        assertEquals(Mode.DAEMON, Invocation.parse("serve").mode());
        assertThrows(IllegalArgumentException.class, () -> Invocation.parse("--daemon", "extra"));
    }

    @Test
    void dashCJoinsTheRestIntoOneCommandLine() {
        Invocation invocation = Invocation.parse("-c", "lb", "-s", "org.openkcm");
        assertEquals(Mode.COMMAND, invocation.mode());
        assertEquals("lb -s org.openkcm", invocation.command());
        assertThrows(IllegalArgumentException.class, () -> Invocation.parse("-c"));
        assertThrows(IllegalArgumentException.class, () -> Invocation.parse("-c", " "));
    }

    @Test
    void aFileWithOrWithoutDashFIsAScriptWithArguments() {
        Invocation plain = Invocation.parse("setup.gosh", "a", "b");
        assertEquals(Mode.SCRIPT, plain.mode());
        assertEquals(Path.of("setup.gosh"), plain.script());
        assertEquals(List.of("a", "b"), plain.scriptArgs());
        assertEquals(plain, Invocation.parse("-f", "setup.gosh", "a", "b"));
        assertThrows(IllegalArgumentException.class, () -> Invocation.parse("-f"));
    }

    @Test
    void helpAndUnknownOptions() {
        assertTrue(Invocation.parse("--help").help());
        assertTrue(Invocation.parse("-h").help());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> Invocation.parse("-x"));
        assertEquals("unknown option -x", unknown.getMessage());
    }

    @Test
    void connectRunsTheCommandOrScriptOnADaemon() {
        Invocation command = Invocation.parse("--connect", "127.0.0.1:7443", "-c", "keystore:list", "--type", "L4");
        assertEquals(Mode.COMMAND, command.mode());
        assertEquals("keystore:list --type L4", command.command());
        assertEquals("127.0.0.1:7443", command.connect());
        Invocation script = Invocation.parse("--connect", "[::1]:7443", "setup.gosh", "a");
        assertEquals(Mode.SCRIPT, script.mode());
        assertEquals(List.of("a"), script.scriptArgs());
        assertEquals("[::1]:7443", script.connect());
        assertEquals(null, Invocation.parse("-c", "lb").connect());
        Invocation shell = Invocation.parse("--connect", "127.0.0.1:7443");
        assertEquals(Mode.INTERACTIVE, shell.mode());
        assertEquals("127.0.0.1:7443", shell.connect());
    }

    @Test
    void connectNeedsATargetAndNoDaemonMode() {
        assertEquals("--connect needs HOST:PORT, e.g. --connect 127.0.0.1:7443",
                assertThrows(IllegalArgumentException.class, () -> Invocation.parse("--connect")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Invocation.parse("--connect", "-c", "lb"));
        for (String[] args : List.of(new String[] {"--connect", "h:1", "--daemon"}, new String[] {"--connect", "h:1", "serve"},
                new String[] {"--connect", "h:1", "--help"}, new String[] {"--connect", "h:1", "--connect", "h:2", "-c", "lb"})) {
            assertEquals("--connect takes nothing (the shell), -c <command> or a script",
                    assertThrows(IllegalArgumentException.class, () -> Invocation.parse(args)).getMessage(),
                    String.join(" ", args));
        }
    }
}
