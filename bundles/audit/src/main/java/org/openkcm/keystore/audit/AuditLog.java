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
}
