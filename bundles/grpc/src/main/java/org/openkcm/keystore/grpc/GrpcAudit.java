package org.openkcm.keystore.grpc;

import java.time.Clock;
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

    <T> T run(Caller caller, String operation, String keyId, Supplier<T> work) {
        AuditLog audit = log.get();
        if (audit == null) {
            throw new UnavailableException(operation + " was not run, nothing changed: no audit log is running");
        }
        AuditRecord started = new AuditRecord(clock.instant(), caller.subject(), CHANNEL, operation, keyId, STARTED,
                null);
        try {
            audit.record(started);
        } catch (RuntimeException e) {
            throw new UnavailableException(operation + " was not run, nothing changed: the audit log cannot write", null,
                    e);
        }
        T result;
        try {
            result = work.get();
        } catch (RuntimeException e) {
            String outcome = e instanceof StatusMapping.NotGrantedException ? AuditRecord.DENIED : AuditRecord.ERROR;
            try {
                audit.record(outcome(started, outcome, e.getClass().getSimpleName()));
            } catch (RuntimeException notRecorded) {
                e.addSuppressed(notRecorded);
            }
            throw e;
        }
        try {
            audit.record(outcome(started, AuditRecord.OK, null));
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
