package org.openkcm.keystore.core.saga;

import java.io.IOException;

/**
 * Kills this process with {@code kill -9} (no shutdown hook, no {@code finally}, no flush) at the
 * saga step the system property {@value #PROPERTY} names ({@code kind:step[:when]}, see
 * {@link CrashPoint}), or {@link Runtime#halt} with {@value #HALT_STATUS} where the signal cannot
 * be sent. Without the property it watches nothing.
 */
public final class HaltAtProperty implements StepWatcher {
    /** The system property that names the point. */
    public static final String PROPERTY = "openkcm.test.haltAt";
    /** The exit status of a process killed here (128 + SIGKILL). */
    public static final int HALT_STATUS = 137;

    private final StepWatcher point;

    /** For {@link java.util.ServiceLoader}; a malformed property fails here, naming it. */
    public HaltAtProperty() {
        String spec = System.getProperty(PROPERTY);
        if (spec == null || spec.isBlank()) {
            point = NONE;
        } else {
            try {
                point = CrashPoint.parse(spec, where -> killThisProcess());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(PROPERTY + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void reached(String sagaKind, int index, String stepName, When when) {
        point.reached(sagaKind, index, stepName, when);
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
}
