package org.openkcm.keystore.shell;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;

/**
 * An audit log that keeps its records in memory, for the shell's unit tests; it can be told to
 * refuse from a given record on, as a log whose disk failed would. The file-backed log itself is
 * tested in the audit bundle and, with these commands, in the runtime's AuditIT.
 */
final class RecordingAuditLog implements AuditLog {
    final List<AuditRecord> records = new CopyOnWriteArrayList<>();
    /** Records accepted before the log starts refusing; negative: never refuse. */
    volatile int acceptBeforeFailing = -1;

    @Override
    public void record(AuditRecord r) {
        if (acceptBeforeFailing >= 0 && records.size() >= acceptBeforeFailing) {
            throw new UnavailableException("audit log /tmp/audit/audit.log cannot be written: disk full");
        }
        records.add(r);
    }
}
