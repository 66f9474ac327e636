package org.openkcm.keystore.audit;

import org.openkcm.keystore.api.UnavailableException;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The audit trail, registered as an OSGi service by the audit bundle. Callers (the shell, the gRPC
 * server) record each audited call and fail that call when recording fails: the log is fail
 * closed, like OpenBao's audit devices, so no audited call succeeds without its record.
 */
@ProviderType
public interface AuditLog {

    /**
     * Writes one record durably before returning.
     *
     * @throws UnavailableException if the record cannot be written; the caller must then fail its
     *         call (and, where it can, change nothing)
     */
    void record(AuditRecord r);

    /**
     * Begins the records of a call that changes nothing before it answers (a read of material):
     * writes {@code started} at once, without waiting for it to be durable, and returns the entry
     * whose {@link Entry#complete} writes the outcome and returns only once both records are
     * durable. A read thus waits for one force of the disk instead of two, and its answer still
     * leaves only after both records are on disk. A call that changes something must use
     * {@link #record} for {@code started}, so the record of its attempt is durable before it acts.
     *
     * @throws UnavailableException if {@code started} cannot be written; the call must then not run
     */
    default Entry beginRead(AuditRecord started) {
        record(started);
        return this::record;
    }

    /** The outcome half of a call begun with {@link #beginRead}. */
    @FunctionalInterface
    interface Entry {
        /**
         * Writes the outcome and returns once it and the call's {@code started} record are durable.
         *
         * @throws UnavailableException if either cannot be made durable; the caller must then fail
         *         its call and hand out nothing
         */
        void complete(AuditRecord outcome);
    }
}
