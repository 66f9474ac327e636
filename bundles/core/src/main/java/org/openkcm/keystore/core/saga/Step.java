package org.openkcm.keystore.core.saga;

import java.util.Objects;

/**
 * One step of a saga: an action and a compensation, both <b>idempotent</b>. A step may be run
 * again after a crash that hit it half-way, and may be compensated whether its action took effect,
 * took part of its effect, or never ran at all: a compensation must therefore undo only what this
 * operation did (for example, delete a key version only if it holds the record this operation
 * stored, never one a concurrent caller stored under the same id).
 *
 * @param name the step's name, recorded in the journal
 * @param kind what a failure of the saga means for this step
 * @param action does the step
 * @param compensation undoes it (a no-op for RETRIABLE steps)
 * @param attempts how many times the runner tries the step (or its compensation) in one run before
 *            it gives up (0: the runner's setting); recovery tries again later in any case
 */
public record Step(String name, StepKind kind, Action action, Action compensation, int attempts) {

    /** What a step does, given the saga's context. */
    @FunctionalInterface
    public interface Action {
        void apply(SagaContext context);
    }

    private static final Action NOTHING = context -> {
    };

    public Step(String name, StepKind kind, Action action, Action compensation) {
        this(name, kind, action, compensation, 0);
    }

    public Step {
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must not be negative");
        }
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(action, "action");
        compensation = compensation == null ? NOTHING : compensation;
    }

    public static Step compensatable(String name, Action action, Action compensation) {
        return new Step(name, StepKind.COMPENSATABLE, action, Objects.requireNonNull(compensation, "compensation"));
    }

    public static Step pivot(String name, Action action, Action compensation) {
        return new Step(name, StepKind.PIVOT, action, Objects.requireNonNull(compensation, "compensation"));
    }

    public static Step retriable(String name, Action action) {
        return new Step(name, StepKind.RETRIABLE, action, NOTHING);
    }

    /** This step, tried at most this many times per run (a long step is better left to recovery than repeated at once). */
    public Step attempts(int times) {
        return new Step(name, kind, action, compensation, times);
    }
}
