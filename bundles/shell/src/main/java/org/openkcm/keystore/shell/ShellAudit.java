package org.openkcm.keystore.shell;

import java.time.Clock;
import java.util.function.Supplier;

import org.apache.felix.service.command.CommandSession;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;

/**
 * Runs an audited shell command: a command that reads material, changes or deletes a key, or runs
 * an admin operation. Like OpenBao's audit devices, the log is asked twice and fails closed:
 * <ol>
 * <li>before the command acts, a record with outcome {@code started}; if the audit log is absent
 * or cannot write it, the command is not run, so nothing changes;</li>
 * <li>after, a record with the outcome ({@code ok}, or {@code error} and the failure's class); if
 * that one cannot be written, the command fails (and a command that reveals material prints
 * none), though what it changed stays changed: its started record is in the log.</li>
 * </ol>
 * Both records carry the time the command started, the caller and the key, so they pair up.
 */
final class ShellAudit {
    static final String CHANNEL = "shell";
    /** The outcome of the record written before a command acts. */
    static final String STARTED = "started";

    /** A command's work, which may throw what the command declares. */
    @FunctionalInterface
    interface Work<T, E extends Exception> {
        T run() throws E;
    }

    private final Supplier<AuditLog> log;
    private final Clock clock;

    /** @param log the audit log now (a dynamic service reference), null when there is none */
    ShellAudit(Supplier<AuditLog> log, Clock clock) {
        this.log = log;
        this.clock = clock;
    }

    <T, E extends Exception> T run(CommandSession session, String command, String keyId, Work<T, E> work) throws E {
        AuditLog audit = log.get();
        if (audit == null) {
            throw new UnavailableException("keystore:" + command + " was not run, nothing changed: no audit log is "
                    + "running (the bundle org.openkcm.keystore.audit must be active)");
        }
        AuditRecord started = new AuditRecord(clock.instant(), caller(session), CHANNEL, command, keyId, STARTED, null);
        try {
            audit.record(started);
        } catch (RuntimeException e) {
            throw new UnavailableException("keystore:" + command + " was not run, nothing changed: " + reason(e), null, e);
        }
        T result;
        try {
            result = work.run();
        } catch (Exception e) {
            try {
                audit.record(outcome(started, AuditRecord.ERROR, e.getClass().getSimpleName()));
            } catch (RuntimeException notRecorded) {
                e.addSuppressed(notRecorded);
            }
            throw e;
        }
        try {
            audit.record(outcome(started, AuditRecord.OK, null));
        } catch (RuntimeException e) {
            throw new UnavailableException("keystore:" + command + " ran, but its outcome could not be audited, "
                    + "so it is reported as failed: " + reason(e), null, e);
        }
        return result;
    }

    private static AuditRecord outcome(AuditRecord started, String outcome, String errorClass) {
        return new AuditRecord(started.time(), started.caller(), started.channel(), started.operation(), started.keyId(),
                outcome, errorClass);
    }

    /**
     * Who runs the command: the Karaf shell's user (its session variable USER, e.g. the ssh or
     * bin/client login), else the operating-system user of the JVM (the Felix console and
     * {@code bin/keystore -c} run as whoever started them).
     */
    static String caller(CommandSession session) {
        Object user = session == null ? null : session.get("USER");
        if (user instanceof String name && !name.isBlank()) {
            return name;
        }
        return System.getProperty("user.name", "unknown");
    }

    private static String reason(RuntimeException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.startsWith("unavailable: ") ? message.substring("unavailable: ".length()) : message;
    }
}
