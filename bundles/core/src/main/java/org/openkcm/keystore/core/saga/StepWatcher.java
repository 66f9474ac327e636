package org.openkcm.keystore.core.saga;

import java.util.ServiceLoader;

/**
 * What a {@link SagaRunner} reports as it goes through a saga's steps: a seam for the crash tests.
 * Production runs with {@link #NONE}; no bundle the runtime ships provides another.
 * <p>
 * The crash tests' fragment ({@code testing/crash-seam}, never shipped) attaches to this bundle and
 * names its watcher in {@code META-INF/services}, where {@link #installed()} finds it: that watcher
 * kills the process at a chosen step, as {@code kill -9} would.
 */
public interface StepWatcher {
    /** Where in a step the runner is. */
    enum When {
        /** Before the step's action runs. */
        BEFORE,
        /** After the action took effect, before the journal records it. */
        AFTER,
        /** After the journal recorded the step. */
        RECORDED,
        /** After the step's compensation, before the next one. */
        COMPENSATE
    }

    /** Watches nothing. */
    StepWatcher NONE = (sagaKind, index, stepName, when) -> {
    };

    /** Called by the runner at each point of each step, on the thread running the saga. */
    void reached(String sagaKind, int index, String stepName, When when);

    /** The watcher a fragment attached to this bundle provides, else {@link #NONE}. */
    static StepWatcher installed() {
        return ServiceLoader.load(StepWatcher.class, StepWatcher.class.getClassLoader()).findFirst().orElse(NONE);
    }
}
