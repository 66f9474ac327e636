package org.openkcm.keystore.runtime;

import java.io.PrintStream;

import org.apache.felix.framework.Logger;

/**
 * The framework's own log (resolution failures, bundles that fail to start, errors in event
 * dispatch) as one line per entry on standard error, instead of Felix's default: messages and
 * stack traces on standard output, mixed with command output.
 * <p>
 * Felix takes its logger from the framework property {@value #PROPERTY}; it filters by
 * {@code felix.log.level} (1, errors, by default) before calling {@link #doLog(int, String, Throwable)}.
 * This is the launcher's one use of a Felix class beyond the standard launch API.
 */
final class FrameworkLog extends Logger {

    /** The Felix framework property that takes the logger. */
    static final String PROPERTY = "felix.log.logger";

    private final PrintStream err;

    FrameworkLog(PrintStream err) {
        this.err = err;
    }

    @Override
    protected void doLog(int level, String message, Throwable failure) {
        String text = message == null ? "" : message.strip();
        if (failure != null) {
            String reason = Messages.oneLine(failure);
            text = text.isEmpty() || text.contains(reason) ? reason : text + ": " + reason;
        }
        err.println((level <= LOG_WARNING ? "warning: " : "framework: ") + text.replaceAll("\\s*[\\r\\n]+\\s*", " "));
    }
}
