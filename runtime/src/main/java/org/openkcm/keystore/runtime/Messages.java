package org.openkcm.keystore.runtime;

/** Turns failures into the single lines the launcher prints. */
final class Messages {

    private Messages() {
    }

    /**
     * The message of a failure on one line: its own message (line breaks folded into spaces), or
     * its type when it has none. Never a stack trace.
     */
    static String oneLine(Throwable failure) {
        if (failure == null) {
            return "unknown failure";
        }
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            Throwable cause = failure.getCause();
            return cause != null && cause != failure ? oneLine(cause) : failure.getClass().getSimpleName();
        }
        return message.strip().replaceAll("\\s*[\\r\\n]+\\s*", " ");
    }
}
