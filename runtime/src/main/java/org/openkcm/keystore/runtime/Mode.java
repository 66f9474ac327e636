package org.openkcm.keystore.runtime;

/** How {@code bin/keystore} runs: long-lived (with or without a console) or for one command or script. */
enum Mode {
    /** No argument: long-lived, the interactive Gogo shell reads the process's standard input. */
    INTERACTIVE,
    /** {@code --daemon} or {@code serve}: long-lived, no console; stops on SIGTERM or {@code stop 0}. */
    DAEMON,
    /** {@code -c <command>}: runs one command line once the keystore is ready, then stops. */
    COMMAND,
    /** {@code <file>} or {@code -f <file>}: runs a script of commands once the keystore is ready, then stops. */
    SCRIPT;

    boolean longLived() {
        return this == INTERACTIVE || this == DAEMON;
    }
}
