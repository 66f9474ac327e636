package org.openkcm.keystore.core.saga;

/**
 * What a step is to its saga, which decides what a failure (or a crash) at that step leads to. A
 * saga is some COMPENSATABLE steps, at most one PIVOT, then RETRIABLE steps.
 */
public enum StepKind {
    /** Undone by its compensation when the saga fails before its commit point. */
    COMPENSATABLE,
    /**
     * The commit point: once it is done the saga only goes forward. If it fails (or the process dies
     * before it is recorded done) it is compensated, then every step before it.
     */
    PIVOT,
    /**
     * After the commit point: never undone; retried until done. If it keeps failing, the operation
     * stays open in the journal and recovery finishes it.
     */
    RETRIABLE
}
