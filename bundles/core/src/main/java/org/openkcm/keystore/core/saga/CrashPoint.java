package org.openkcm.keystore.core.saga;

import java.io.IOException;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * TEST SEAM, for crash tests only: kills the process at a named point of a named saga, as
 * {@code kill -9} would, so that a test can restart it and check what recovery does. Off unless the
 * system property {@value #PROPERTY} is set, which no production configuration does.
 * <p>
 * Value: {@code kind:step[:when]}, where step is the step's index or name and when is
 * <ul>
 * <li>{@code before}: before the step's action runs;</li>
 * <li>{@code after} (the default): after the action took effect, before the journal records it
 * (the hardest case: the effect exists and the journal does not know);</li>
 * <li>{@code recorded}: after the journal recorded the step;</li>
 * <li>{@code compensate}: after the step's compensation, before the next one.</li>
 * </ul>
 * The kill is a real {@code kill -9} of this process (SIGKILL: no shutdown hook, no finally block,
 * no flush), or {@link Runtime#halt(int)} where the signal cannot be sent.
 */
public final class CrashPoint {
    /** The system property that arms the seam (test only). */
    public static final String PROPERTY = "openkcm.test.haltAt";
    /** The exit status of a process killed by the seam (128 + SIGKILL). */
    public static final int HALT_STATUS = 137;

    /** Where in a step the process may be killed. */
    public enum When { BEFORE, AFTER, RECORDED, COMPENSATE }

    private static final CrashPoint NONE = new CrashPoint(null, null, null, null);

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

    /** Disarmed. */
    public static CrashPoint none() {
        return NONE;
    }

    /** Armed from the system property, if it is set; the kill is {@code kill -9} of this process. */
    public static CrashPoint fromSystemProperty() {
        String spec = System.getProperty(PROPERTY);
        return spec == null || spec.isBlank() ? NONE : parse(spec, point -> killThisProcess());
    }

    private static void killThisProcess() {
        try {
            new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
            Thread.sleep(10_000); // the signal ends the process long before this returns
        } catch (IOException | InterruptedException e) {
            // no kill command, or interrupted: halt instead, which is as abrupt for the JVM
        }
        Runtime.getRuntime().halt(HALT_STATUS);
    }

    /**
     * Armed from a specification, with a kill of the caller's choosing (tests throw an {@link Error}
     * that no step catches).
     */
    public static CrashPoint parse(String spec, Consumer<String> kill) {
        String[] parts = spec.trim().split(":");
        if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()) {
            throw new IllegalArgumentException(PROPERTY + " must be kind:step[:before|after|recorded|compensate], not " + spec);
        }
        When when = parts.length == 3 ? When.valueOf(parts[2].trim().toUpperCase(Locale.ROOT)) : When.AFTER;
        return new CrashPoint(parts[0].trim(), parts[1].trim(), when, kill);
    }

    public boolean armed() {
        return kill != null;
    }

    void reached(String sagaKind, int index, String stepName, When now) {
        if (kill != null && now == when && kind.equals(sagaKind)
                && (step.equals(Integer.toString(index)) || step.equals(stepName))) {
            kill.accept(sagaKind + ":" + index + ":" + now);
        }
    }

    @Override
    public String toString() {
        return kill == null ? "CrashPoint[none]" : "CrashPoint[" + kind + ":" + step + ":" + when + "]";
    }
}
