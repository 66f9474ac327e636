package org.openkcm.keystore.runtime;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The parsed command line of {@code bin/keystore}.
 *
 * @param command the command line for {@link Mode#COMMAND}, else null
 * @param script the script file for {@link Mode#SCRIPT}, else null
 * @param scriptArgs the script's arguments ({@code $1}, {@code $2}, … and {@code $args})
 * @param help whether to print the usage and exit
 * @param connect {@code HOST:PORT} of a running daemon to run the shell, the command or the script on
 *        ({@code --connect}), else null: then a daemon is used only if it holds the home
 */
record Invocation(Mode mode, String command, Path script, List<String> scriptArgs, boolean help, String connect) {

    static final String USAGE = String.join(System.lineSeparator(),
            "Usage: keystore                        start with the interactive Gogo shell",
            "       keystore --daemon | serve       start without a console; stop with SIGTERM",
            "       keystore -c <command ...>       run one Gogo command line, then stop",
            "       keystore [-f] <script> [args]   run a script of Gogo commands, then stop",
            "       keystore --connect HOST:PORT [-c <command ...> | [-f] <script> [args]]",
            "                                       the shell, a command or a script on the daemon at",
            "                                       HOST:PORT over gRPC",
            "       keystore -h | --help            show this help",
            "",
            "-c and scripts run once the keystore is ready, print each command's result, and exit with",
            "0 when every command succeeded, 1 when one failed (one line 'error: <message>' on stderr;",
            "the rest of a script is skipped), 2 on bad usage, 3 when the runtime did not start.",
            "When a daemon runs on this home, the shell, -c and scripts run on it over gRPC (mutual TLS",
            "with the admin certificate of data/tls/), with the same output and exit statuses; 3 when",
            "it cannot be reached.",
            "",
            "Environment: JAVA_HOME, JAVA_OPTS (e.g. -Dopenkcm.ready.timeout=30 -Dopenkcm.stop.timeout=30,",
            "or any framework property such as -Dfelix.fileinstall.poll=500).");

    Invocation {
        scriptArgs = List.copyOf(scriptArgs);
    }

    /** @throws IllegalArgumentException with a one-line reason when the arguments are not usable */
    static Invocation parse(String... args) {
        if (args.length > 0 && args[0].equals("--connect")) {
            if (args.length < 2 || args[1].isBlank() || args[1].startsWith("-")) {
                throw new IllegalArgumentException("--connect needs HOST:PORT, e.g. --connect 127.0.0.1:7443");
            }
            Invocation rest = parse(Arrays.copyOfRange(args, 2, args.length));
            if (rest.mode() == Mode.DAEMON || rest.help() || rest.connect() != null) {
                throw new IllegalArgumentException("--connect takes nothing (the shell), -c <command> or a script");
            }
            return new Invocation(rest.mode(), rest.command(), rest.script(), rest.scriptArgs(), false, args[1]);
        }
        if (args.length == 0) {
            return new Invocation(Mode.INTERACTIVE, null, null, List.of(), false, null);
        }
        String first = args[0];
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        switch (first) {
            case "-h", "--help", "help":
                return new Invocation(Mode.INTERACTIVE, null, null, List.of(), true, null);
            case "--daemon", "serve":
                if (!rest.isEmpty()) {
                    throw new IllegalArgumentException(first + " takes no arguments");
                }
                return new Invocation(Mode.DAEMON, null, null, List.of(), false, null);
            case "-c", "--command":
                String command = String.join(" ", rest);
                if (command.isBlank()) {
                    throw new IllegalArgumentException(first + " needs a command");
                }
                return new Invocation(Mode.COMMAND, command, null, List.of(), false, null);
            case "-f", "--file":
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException(first + " needs a script file");
                }
                return script(rest.get(0), rest.subList(1, rest.size()));
            default:
                if (first.startsWith("-")) {
                    throw new IllegalArgumentException("unknown option " + first);
                }
                return script(first, rest);
        }
    }

    private static Invocation script(String file, List<String> args) {
        return new Invocation(Mode.SCRIPT, null, Path.of(file), args, false, null);
    }
}
