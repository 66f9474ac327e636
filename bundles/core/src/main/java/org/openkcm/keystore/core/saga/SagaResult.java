package org.openkcm.keystore.core.saga;

import java.util.Optional;
import java.util.UUID;

/**
 * How a run (or a recovery) of a saga ended.
 *
 * @param id the operation's id in the journal
 * @param state where it stands
 * @param failedStep the step that failed, or -1
 * @param failure the failure, if a step failed (with failed compensations suppressed in it)
 */
public record SagaResult(UUID id, State state, int failedStep, RuntimeException failure) {

    /** Where an operation stands. */
    public enum State {
        /** Every step is done; the journal says so. */
        COMMITTED,
        /** A step failed before the commit point; every step was undone; the journal says so. */
        COMPENSATED,
        /**
         * The commit point was passed but a later step keeps failing: the effect stands, the operation
         * stays open in the journal, and recovery finishes it.
         */
        PENDING_FORWARD,
        /** A compensation keeps failing: the operation stays open in the journal and recovery undoes it. */
        PENDING_COMPENSATION
    }

    /** True if the operation took effect (committed, or past its commit point). */
    public boolean tookEffect() {
        return state == State.COMMITTED || state == State.PENDING_FORWARD;
    }

    public Optional<RuntimeException> failureCause() {
        return Optional.ofNullable(failure);
    }

    /** Returns if committed; else throws the step's failure. */
    public SagaResult orThrow() {
        if (state != State.COMMITTED && failure != null) {
            throw failure;
        }
        return this;
    }
}
