package org.openkcm.keystore.core.saga;

import java.util.List;

import org.openkcm.keystore.core.journal.Intent;

/**
 * What recovery did with the unfinished operations of the journal.
 *
 * @param entries one per operation looked at, in journal order
 */
public record RecoveryReport(List<Entry> entries) {

    /** One operation: what it was and where it stands now. */
    public record Entry(Intent intent, SagaResult.State state, String detail) {
    }

    public RecoveryReport {
        entries = List.copyOf(entries);
    }

    public long count(SagaResult.State state) {
        return entries.stream().filter(e -> e.state() == state).count();
    }

    /** Operations still open (a step or a compensation keeps failing, or the kind is unknown). */
    public long pending() {
        return count(SagaResult.State.PENDING_FORWARD) + count(SagaResult.State.PENDING_COMPENSATION);
    }

    @Override
    public String toString() {
        return "RecoveryReport[" + entries.size() + " unfinished: " + count(SagaResult.State.COMMITTED)
                + " rolled forward, " + count(SagaResult.State.COMPENSATED) + " compensated, " + pending() + " pending]";
    }
}
