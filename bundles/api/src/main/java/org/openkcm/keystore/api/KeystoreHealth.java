package org.openkcm.keystore.api;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The answer of {@link Keystore#health()}: up or down, how long the probe took, and why if down. */
public final class KeystoreHealth {
    /** The longest a backend may take to answer {@link Keystore#health()}, whatever its storage does. */
    public static final Duration MAX_PROBE_TIME = Duration.ofSeconds(5);

    private final boolean up;
    private final Duration latency;
    private final String reason;

    private KeystoreHealth(boolean up, Duration latency, String reason) {
        this.up = up;
        this.latency = Validation.required("latency", latency);
        this.reason = reason;
    }

    public static KeystoreHealth up(Duration latency) {
        return new KeystoreHealth(true, latency, null);
    }

    public static KeystoreHealth down(Duration latency, String reason) {
        return new KeystoreHealth(false, latency, Validation.required("reason", reason));
    }

    public boolean isUp() {
        return up;
    }

    public Duration latency() {
        return latency;
    }

    /** Why the backend is down; empty when it is up. */
    public Optional<String> reason() {
        return Optional.ofNullable(reason);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeystoreHealth other && up == other.up && latency.equals(other.latency)
                && Objects.equals(reason, other.reason);
    }

    @Override
    public int hashCode() {
        return Objects.hash(up, latency, reason);
    }

    @Override
    public String toString() {
        return up ? "UP (" + latency.toMillis() + " ms)" : "DOWN (" + latency.toMillis() + " ms): " + reason;
    }
}
