package org.openkcm.keystore.core.journal;

/** How an operation ended, as its END record says. */
public enum Outcome {
    /** Every step is done: the operation took effect. */
    COMMITTED,
    /** A step failed (or the process died) before the commit point; every step was undone. */
    COMPENSATED
}
