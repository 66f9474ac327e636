package org.openkcm.keystore.core.saga;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * For crash tests only: a {@link StepWatcher} that calls its kill at a named point of a named saga.
 * Unit tests kill by throwing an {@link Error} that no step catches; the crash tests' fragment
 * ({@code testing/crash-seam}, which embeds this class) kills the runtime's process with
 * {@code kill -9}.
 * <p>
 * Specification: {@code kind:step[:when]}, where step is the step's index or name and when is
 * {@code before}, {@code after} (the default: the effect exists and the journal does not know, the
 * hardest case), {@code recorded} or {@code compensate} ({@link StepWatcher.When}).
 */
public final class CrashPoint implements StepWatcher {
    private final String kind;
    private final String step;
    private final When when;
    private final Consumer<String> kill;

    private CrashPoint(String kind, String step, When when, Consumer<String> kill) {
        this.kind = kind;
        this.step = step;
        this.when = when;
        this.kill = kill;
    }

    /**
     * @param kill called with {@code kind:index:when} when the point is reached
     * @throws IllegalArgumentException if the specification is malformed
     */
    public static CrashPoint parse(String spec, Consumer<String> kill) {
        String[] parts = spec.trim().split(":");
        if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()) {
            throw new IllegalArgumentException("a crash point is kind:step[:before|after|recorded|compensate], not "
                    + spec);
        }
        When when = parts.length == 3 ? When.valueOf(parts[2].trim().toUpperCase(Locale.ROOT)) : When.AFTER;
        return new CrashPoint(parts[0].trim(), parts[1].trim(), when, kill);
    }

    @Override
    public void reached(String sagaKind, int index, String stepName, When now) {
        if (now == when && kind.equals(sagaKind) && (step.equals(Integer.toString(index)) || step.equals(stepName))) {
            kill.accept(sagaKind + ":" + index + ":" + now);
        }
    }

    @Override
    public String toString() {
        return "CrashPoint[" + kind + ":" + step + ":" + when + "]";
    }
}
