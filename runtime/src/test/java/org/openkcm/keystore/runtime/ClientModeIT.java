package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bin/keystore} in client mode, against a real daemon process of the built runtime: while a
 * runtime holds the home (or with {@code --connect}), the interactive shell's commands and {@code -c}
 * run on it over gRPC with the admin
 * certificate of {@code data/tls/}, printing what the runtime's own shell prints for the same command,
 * with the same exit statuses: 0, 1 with the same error line, 2 with the usage line; and 3 with one
 * line when no daemon answers. The client writes nothing in the home; the daemon audits its calls.
 */
@Timeout(900)
class ClientModeIT {
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration COMMAND = Duration.ofSeconds(60);
    private static final String MATERIAL_HEX = "00112233445566778899aabbccddeeff";

    private Distribution.Running runtime;

    @AfterEach
    void stop() {
        if (runtime != null) {
            runtime.close();
        }
    }

    /** Starts the interactive runtime (its shell is the reference) and waits until it serves gRPC. */
    private Distribution startRuntime(TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy("client-" + test.getTestMethod().orElseThrow().getName());
        Files.writeString(distribution.path("material.hex"), MATERIAL_HEX + "\n");
        runtime = distribution.start();
        runtime.shell("keystore:backends", START);
        Distribution.eventually(START, () -> assertTrue(Files.exists(endpointFile(distribution)),
                "no data/grpc.endpoint yet\n" + runtime));
        return distribution;
    }

    private static Path endpointFile(Distribution distribution) {
        return distribution.path("data/" + DaemonEndpoint.FILE);
    }

    private static String target(Distribution distribution) throws Exception {
        Properties endpoint = new Properties();
        try (var in = Files.newBufferedReader(endpointFile(distribution))) {
            endpoint.load(in);
        }
        return endpoint.getProperty("target");
    }

    private static Distribution.Result client(Distribution distribution, String command) throws Exception {
        return distribution.run("-c", command);
    }

    /** Runs the command in client mode and in the runtime's shell; asserts both print the same. */
    private String sameAsShell(Distribution distribution, String command) throws Exception {
        Distribution.Result remote = client(distribution, command);
        assertEquals(0, remote.exit(), () -> command + "\n" + remote);
        assertEquals("", remote.err(), () -> command + "\n" + remote);
        String local = runtime.shell(command, COMMAND).replace("\r\n", "\n");
        assertTrue(remote.out().strip().length() > 0, () -> command + "\n" + remote);
        assertTrue(local.contains(remote.out().strip()),
                () -> command + ": client mode printed\n" + remote.out() + "\nthe runtime's shell printed\n" + local);
        return remote.out();
    }

    @Test
    void commandsRunOnTheRuntimeHoldingTheHomeWithTheShellsOutputAndStatuses(TestInfo test) throws Exception {
        Distribution distribution = startRuntime(test);
        Set<String> cacheBefore = entries(distribution.path("data/cache"));

        Distribution.Result generated = client(distribution,
                "keystore:generate --type L4 --owner node/n1 --region eu --tags env=prod k1");
        assertEquals(0, generated.exit(), generated::toString);
        assertEquals("", generated.err(), generated::toString);
        assertTrue(Pattern.compile("(?m)^id\\s+k1:1$").matcher(generated.out()).find(), generated::toString);
        assertTrue(Pattern.compile("(?m)^backend\\s+memory$").matcher(generated.out()).find(), generated::toString);
        assertTrue(runtime.shell("keystore:show k1:1", COMMAND).contains(generated.out().strip()),
                "generate printed the key as the runtime's show does\n" + generated + runtime);

        // key commands
        for (String command : List.of("keystore:rotate k1", "keystore:status k1:1 RETIRED", "keystore:tags k1:2 env=dev",
                "keystore:expiry k1:2 2030-01-01T00:00:00Z",
                "keystore:import --file material.hex --encoding hex --type L4 --size 128 --owner node/n1 imported",
                "keystore:generate --type L2 --owner tenant/acme root")) {
            Distribution.Result result = client(distribution, command);
            assertEquals(0, result.exit(), () -> command + "\n" + result);
            assertEquals("", result.err(), () -> command + "\n" + result);
        }
        sameAsShell(distribution, "keystore:show k1:2");
        sameAsShell(distribution, "keystore:show root:1");
        String listed = sameAsShell(distribution, "keystore:list");
        assertTrue(Pattern.compile("(?m)^k1:1\\s+L4\\s+RETIRED\\s+node/n1\\s+eu\\s+AES\\s+256\\s+-\\s+\\d+\\s+memory$")
                .matcher(listed).find(), listed);
        assertTrue(Pattern.compile("(?m)^root:1\\s+L2\\s+ACTIVE\\s+tenant/acme\\s.*\\sfile$").matcher(listed).find(),
                listed);
        assertTrue(listed.strip().endsWith("4 keys"), listed);
        sameAsShell(distribution, "keystore:list --owner-kind node --page-size 2");
        Distribution.Result revealed = client(distribution, "keystore:reveal imported:1");
        assertEquals(0, revealed.exit(), revealed::toString);
        assertEquals(MATERIAL_HEX, revealed.out().strip(), revealed::toString);
        assertFalse(listed.contains(MATERIAL_HEX), listed);

        // admin commands
        sameAsShell(distribution, "keystore:backends");
        sameAsShell(distribution, "keystore:routes");
        sameAsShell(distribution, "keystore:cache");
        sameAsShell(distribution, "keystore:migrate");
        sameAsShell(distribution, "keystore:rewrap");
        Distribution.Result reconciled = client(distribution, "keystore:reconcile");
        assertEquals(0, reconciled.exit(), reconciled::toString);
        assertTrue(Pattern.compile("(?m)^memory\\s+\\d+\\s+\\d+").matcher(reconciled.out()).find(), reconciled::toString);
        assertTrue(Pattern.compile("(?m)^file\\s+\\d+\\s+\\d+").matcher(reconciled.out()).find(), reconciled::toString);

        // deleting: refused for a parent as in the shell, done otherwise
        Distribution.Result deleted = client(distribution, "keystore:delete k1:1");
        assertEquals(0, deleted.exit(), deleted::toString);
        assertEquals("deleted k1:1", deleted.out().strip(), deleted::toString);
        assertTrue(runtime.shell("keystore:list", COMMAND).contains("\n3 keys\n"), runtime::toString);

        // a failure: exit 1 and the runtime's own message, nothing changed
        Distribution.Result missing = client(distribution, "keystore:show nosuch:1");
        assertEquals(CommandRunner.FAILED, missing.exit(), missing::toString);
        assertEquals(List.of("error: key nosuch:1 not found"), missing.errLines(), missing::toString);
        assertTrue(runtime.shell("keystore:show nosuch:1", COMMAND).contains("key nosuch:1 not found"), runtime::toString);
        Distribution.Result stale = client(distribution, "keystore:status --revision 1 k1:2 RETIRED");
        assertEquals(CommandRunner.FAILED, stale.exit(), stale::toString);
        assertTrue(stale.err().startsWith("error: revision conflict on key k1:2: expected revision 1"), stale::toString);
        assertTrue(Pattern.compile("(?m)^status\\s+ACTIVE$").matcher(runtime.shell("keystore:show k1:2", COMMAND)).find(),
                "the refused change changed nothing\n" + runtime);

        // bad usage: exit 2 and the command's usage line, checked before any call
        Distribution.Result usage = client(distribution, "keystore:show");
        assertEquals(CommandRunner.USAGE, usage.exit(), usage::toString);
        assertEquals(List.of("usage: keystore:show NAME:VERSION (NAME:VERSION is missing)"), usage.errLines(),
                usage::toString);
        assertEquals("", usage.out(), usage::toString);

        // --connect reaches the same daemon
        Distribution.Result connected = distribution.run("--connect", target(distribution), "-c", "keystore:list");
        assertEquals(0, connected.exit(), connected::toString);
        assertTrue(runtime.shell("keystore:list", COMMAND).contains(connected.out().strip()), connected::toString);

        // the client ran no framework of its own on the home; the daemon audited its calls
        assertEquals(cacheBefore, entries(distribution.path("data/cache")), "the runtime's bundle cache");
        String audit = Files.readString(distribution.path("data/audit/audit.log"));
        assertTrue(audit.lines().anyMatch(l -> l.contains("\"channel\":\"grpc\"") && l.contains("\"operation\":\"generate\"")
                && l.contains("k1:1") && l.contains("keystore-admin")), audit);
        assertFalse(audit.contains(MATERIAL_HEX), "material in the audit log");
    }

    /** A client shell's output of one command as the runtime's own shell prints it: no prompt, no CR. */
    private static String console(String output) {
        return output.replace("\r\n", "\n").replace("keystore> ", "").strip();
    }

    @Test
    void theInteractiveShellRunsOnTheRuntimeHoldingTheHomeWithTheShellsOutputAndItsAudit(TestInfo test)
            throws Exception {
        Distribution distribution = startRuntime(test);
        Set<String> cacheBefore = entries(distribution.path("data/cache"));
        // the clients' bound on reaching the daemon, for a loaded machine (the runtime is started already)
        distribution.environment("JAVA_OPTS", Distribution.JAVA_OPTS + " -Dopenkcm.ready.timeout=120");
        try (Distribution.Running shell = distribution.start()) {
            shell.awaitOut("openkcm-keystore: connected to the keystore daemon at " + target(distribution)
                    + " (client mode: the commands run there)", Duration.ofSeconds(150));
            // the daemon's console, with the home's etc/gosh_profile
            shell.awaitOut("OpenKCM Keystore shell: help lists the commands", COMMAND);
            String generated = console(shell.shell("keystore:generate --type L4 --owner node/n1 --tags env=prod k1",
                    COMMAND));
            assertTrue(Pattern.compile("(?m)^id\\s+k1:1$").matcher(generated).find(), generated + shell);
            assertEquals(console(runtime.shell("keystore:show k1:1", COMMAND)), generated,
                    "generate in the client's shell printed the key as the runtime's show does");
            assertTrue(console(runtime.shell("keystore:generate --type L2 --owner tenant/acme root", COMMAND))
                    .contains("root:1"), runtime::toString);
            for (String command : List.of("keystore:show root:1", "keystore:list", "keystore:list --owner-kind node",
                    "keystore:backends", "keystore:routes", "keystore:cache", "keystore:show")) {
                assertEquals(console(runtime.shell(command, COMMAND)), console(shell.shell(command, COMMAND)),
                        () -> command + ": the client's shell and the runtime's printed differently\n" + shell + runtime);
            }
            // a failure: the console prints the exception, class and message, as the daemon's console does
            String missing = console(shell.shell("keystore:show nosuch:1", COMMAND));
            assertEquals(console(runtime.shell("keystore:show nosuch:1", COMMAND)), missing, shell::toString);
            assertTrue(console(shell.shell("keystore:list", COMMAND)).endsWith("2 keys"), shell::toString);
            assertEquals("deleted k1:1", console(shell.shell("keystore:delete k1:1", COMMAND)), shell::toString);
            assertTrue(console(runtime.shell("keystore:list", COMMAND)).endsWith("1 key"), runtime::toString);

            // exit N: the client's process exits with N; the runtime runs on
            var input = shell.process().getOutputStream();
            input.write("exit 5\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            input.flush();
            assertTrue(shell.process().waitFor(COMMAND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS),
                    shell::toString);
            assertEquals(5, shell.process().exitValue(), shell::toString);
            assertFalse(shell.err().contains("Exception"), shell::toString);
        }
        assertTrue(console(runtime.shell("keystore:show root:1", COMMAND)).contains("root:1"), runtime::toString);

        // the daemon audited the client's calls as the admin certificate's, and its own shell's as the shell's
        String audit = Files.readString(distribution.path("data/audit/audit.log"));
        assertTrue(audit.lines().anyMatch(l -> l.contains("\"channel\":\"grpc\"") && l.contains("\"operation\":\"generate\"")
                && l.contains("\"keyId\":\"k1") && l.contains("keystore-admin") && l.contains("\"outcome\":\"ok\"")), audit);
        assertTrue(audit.lines().anyMatch(l -> l.contains("\"channel\":\"grpc\"") && l.contains("\"operation\":\"delete\"")
                && l.contains("\"k1:1\"") && l.contains("keystore-admin")), audit);
        assertTrue(audit.lines().anyMatch(l -> l.contains("\"channel\":\"shell\"") && l.contains("\"operation\":\"generate\"")
                && l.contains("\"keyId\":\"root") && l.contains("\"caller\":\"" + System.getProperty("user.name") + "\"")),
                audit);
        // the client wrote nothing in the home: no bundle cache, no history line of its own
        assertEquals(cacheBefore, entries(distribution.path("data/cache")), "the runtime's bundle cache");
        Path history = distribution.path("data/shell.history");
        assertFalse(Files.exists(history) && Files.readString(history).contains("exit 5"),
                "the client's history is not the runtime's");

        // --connect HOST:PORT alone: the shell of that daemon; end of input ends it with 0
        try (Distribution.Running shell = distribution.start("--connect", target(distribution))) {
            shell.awaitOut("OpenKCM Keystore shell: help lists the commands", Duration.ofSeconds(150));
            assertEquals(console(runtime.shell("keystore:list", COMMAND)), console(shell.shell("keystore:list", COMMAND)),
                    shell::toString);
            shell.process().getOutputStream().close();
            assertTrue(shell.process().waitFor(COMMAND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS),
                    shell::toString);
            assertEquals(0, shell.process().exitValue(), shell::toString);
        }
    }

    @Test
    void withoutARunningDaemonClientModeExits3WithOneLine(TestInfo test) throws Exception {
        Distribution distribution = startRuntime(test);
        String target = target(distribution);
        runtime.terminate(Duration.ofSeconds(KeystoreRuntime.stopTimeout().toSeconds() + 10));
        assertFalse(Files.exists(endpointFile(distribution)), "the stopped server removed data/grpc.endpoint");

        Distribution.Result down = distribution.run("--connect", target, "-c", "keystore:list");
        assertEquals(Main.NOT_STARTED, down.exit(), down::toString);
        assertEquals(1, down.errLines().size(), down::toString);
        assertTrue(down.err().startsWith("error: not connected: no keystore daemon answers at " + target + " ("),
                down::toString);
        assertEquals("", down.out(), down::toString);

        int free;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            free = probe.getLocalPort();
        }
        Distribution.Result nobody = distribution.run("--connect", "127.0.0.1:" + free, "-c", "keystore:backends");
        assertEquals(Main.NOT_STARTED, nobody.exit(), nobody::toString);
        assertEquals(List.of(), nobody.errLines().stream().filter(l -> !l.startsWith("error: not connected: ")).toList(),
                nobody::toString);
        assertEquals(1, nobody.errLines().size(), nobody::toString);

        Distribution.Result noShell = distribution.run("--connect", "127.0.0.1:" + free);
        assertEquals(Main.NOT_STARTED, noShell.exit(), noShell::toString);
        assertEquals(1, noShell.errLines().size(), noShell::toString);
        assertTrue(noShell.err().startsWith("error: not connected: "), noShell::toString);
        assertEquals("", noShell.out(), "no prompt before the daemon answers\n" + noShell);

        Distribution.Result badTarget = distribution.run("--connect");
        assertEquals(Main.USAGE, badTarget.exit(), badTarget::toString);
    }

    private static Set<String> entries(Path folder) throws Exception {
        try (Stream<Path> paths = Files.list(folder)) {
            return paths.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }
}
