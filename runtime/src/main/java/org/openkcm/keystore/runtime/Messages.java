package org.openkcm.keystore.runtime;

/** Turns failures into the single lines the launcher prints. */
final class Messages {

    private Messages() {
    }

    /**
     * The failure that says what went wrong: reflection and wrapping exceptions without a message of
     * their own ({@code InvocationTargetException}, {@code UndeclaredThrowableException},
     * {@code ExecutionException}, ...) are unwrapped to their cause.
     */
    static Throwable cause(Throwable failure) {
        Throwable t = failure;
        for (int depth = 0; t != null && depth < 16; depth++) {
            boolean wrapper = t instanceof java.lang.reflect.InvocationTargetException
                    || t instanceof java.lang.reflect.UndeclaredThrowableException
                    || t instanceof java.util.concurrent.ExecutionException
                    || t instanceof java.util.concurrent.CompletionException
                    || t.getMessage() == null || t.getMessage().isBlank()
                    || (t.getCause() != null && t.getMessage().equals(t.getCause().toString()));
            if (!wrapper || t.getCause() == null || t.getCause() == t) {
                return t;
            }
            t = t.getCause();
        }
        return t == null ? failure : t;
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
