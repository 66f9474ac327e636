package org.openkcm.keystore.grpc;

import java.time.Clock;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;

/**
 * Records an audited call (one that reads material, changes or deletes a key, or runs an admin
 * operation) as the shell does, failing closed: a record with outcome {@code started} before the
 * call acts (if it cannot be written, the call is not run and answers UNAVAILABLE), then one with
 * the outcome ({@code ok}, {@code denied} for a call the caller was not granted, {@code error} with
 * the failure's class); if that one cannot be written the call fails although what it changed
 * stays changed. The caller is the client certificate's subject, the channel {@value #CHANNEL}.
 * <p>
 * A read of material ({@link #read}) changes nothing before it answers, so its {@code started}
 * record need not be on disk before the read runs: it is written at once and made durable with
 * the outcome, by one force of the disk, before the answer leaves (see {@link AuditLog#beginRead}).
 */
final class GrpcAudit {
    static final String CHANNEL = "grpc";
    static final String STARTED = "started";

    private final Supplier<AuditLog> log;
    private final Clock clock;

    GrpcAudit(Supplier<AuditLog> log, Clock clock) {
        this.log = log;
        this.clock = clock;
    }

    /** An audited call that may change something: {@code started} is durable before it acts. */
    <T> T run(Caller caller, String operation, String keyId, Supplier<T> work) {
        AuditLog audit = audit(operation);
        AuditRecord started = started(caller, operation, keyId);
        try {
            audit.record(started);
        } catch (RuntimeException e) {
            throw notRun(operation, e);
        }
        return finish(operation, started, work, audit::record);
    }

    /**
     * An audited call that changes nothing before it answers (a read of material): one force of
     * the disk covers both its records, and the answer is returned only after it.
     */
    <T> T read(Caller caller, String operation, String keyId, Supplier<T> work) {
        AuditLog audit = audit(operation);
        AuditRecord started = started(caller, operation, keyId);
        AuditLog.Entry entry;
        try {
            entry = audit.beginRead(started);
        } catch (RuntimeException e) {
            throw notRun(operation, e);
        }
        return finish(operation, started, work, entry::complete);
    }

    private AuditLog audit(String operation) {
        AuditLog audit = log.get();
        if (audit == null) {
            throw new UnavailableException(operation + " was not run, nothing changed: no audit log is running");
        }
        return audit;
    }

    private AuditRecord started(Caller caller, String operation, String keyId) {
        return new AuditRecord(clock.instant(), caller.subject(), CHANNEL, operation, keyId, STARTED, null);
    }

    private static UnavailableException notRun(String operation, RuntimeException cause) {
        return new UnavailableException(operation + " was not run, nothing changed: the audit log cannot write", null,
                cause);
    }

    private static <T> T finish(String operation, AuditRecord started, Supplier<T> work,
            Consumer<AuditRecord> outcomes) {
        T result;
        try {
            result = work.get();
        } catch (RuntimeException e) {
            String outcome = e instanceof StatusMapping.NotGrantedException ? AuditRecord.DENIED : AuditRecord.ERROR;
            try {
                outcomes.accept(outcome(started, outcome, e.getClass().getSimpleName()));
            } catch (RuntimeException notRecorded) {
                e.addSuppressed(notRecorded);
            }
            throw e;
        }
        try {
            outcomes.accept(outcome(started, AuditRecord.OK, null));
        } catch (RuntimeException e) {
            throw new UnavailableException(operation + " ran, but its outcome could not be audited, so it is reported"
                    + " as failed", null, e);
        }
        return result;
    }

    private static AuditRecord outcome(AuditRecord started, String outcome, String errorClass) {
        return new AuditRecord(started.time(), started.caller(), started.channel(), started.operation(),
                started.keyId(), outcome, errorClass);
    }
}
