package org.openkcm.keystore.grpc;

import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;

/**
 * The audit log of commands that run on a daemon through {@link RemoteKeystore}: the daemon's own
 * audit log holds their records. Every call the commands make reaches the daemon as a gRPC call,
 * which the daemon audits (caller, operation, key, outcome) and fails when it cannot write the
 * record, so the commands stay fail closed; a second record on this side would be a copy of one
 * the daemon already keeps, in a file the daemon's operator does not read.
 */
final class DaemonAudit implements AuditLog {
    @Override
    public void record(AuditRecord r) {
        if (r == null) {
            throw new IllegalArgumentException("audit record is required");
        }
        // The daemon records the call itself (see the class comment).
    }
}
