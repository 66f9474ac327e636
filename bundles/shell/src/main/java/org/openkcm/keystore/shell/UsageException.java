package org.openkcm.keystore.shell;

/**
 * The command was called the wrong way (a required option or argument missing, an unknown
 * option): its message is the command's usage line, {@code usage: keystore:NAME ...}, so the
 * launcher can tell bad usage (exit status 2) from a command that ran and failed.
 */
final class UsageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    /** The usage line alone: the interactive console prints a failed command's {@code toString()}. */
    @Override
    public String toString() {
        return getMessage();
    }
}
