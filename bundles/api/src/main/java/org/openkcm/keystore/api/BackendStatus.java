package org.openkcm.keystore.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One tracked {@link Keystore} service as the core bundle sees it: its name, bundle, state and
 * health. Only non-secret service properties ({@code keystore.*}, {@code service.*},
 * {@code component.name}) are kept, so printing it never shows a credential.
 */
public final class BackendStatus {

    /** Where a backend service stands. */
    public enum State {
        /** It serves its name. */
        ACTIVE,
        /** Another service of the same name and a higher ranking serves it. */
        SHADOWED,
        /** It serves its name but failed its health probes: its routes answer unavailable. */
        DOWN,
        /** Its service object could not be got (its component is (re)activating); retried. */
        UNAVAILABLE
    }

    private final String name;
    private final State state;
    private final long serviceId;
    private final int ranking;
    private final String bundleSymbolicName;
    private final String bundleVersion;
    private final List<String> tiers;
    private final List<String> regions;
    private final Map<String, String> properties;
    private final int consecutiveFailures;
    private final String lastReason;
    private final Instant lastProbe;
    private final Duration lastLatency;

    private BackendStatus(Builder b) {
        this.name = Objects.requireNonNull(b.name, "name");
        this.state = Objects.requireNonNull(b.state, "state");
        this.serviceId = b.serviceId;
        this.ranking = b.ranking;
        this.bundleSymbolicName = b.bundleSymbolicName == null ? "" : b.bundleSymbolicName;
        this.bundleVersion = b.bundleVersion == null ? "" : b.bundleVersion;
        this.tiers = List.copyOf(b.tiers);
        this.regions = List.copyOf(b.regions);
        this.properties = Collections.unmodifiableMap(new TreeMap<>(b.properties));
        this.consecutiveFailures = b.consecutiveFailures;
        this.lastReason = b.lastReason;
        this.lastProbe = b.lastProbe;
        this.lastLatency = b.lastLatency;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String name() {
        return name;
    }

    public State state() {
        return state;
    }

    public long serviceId() {
        return serviceId;
    }

    public int ranking() {
        return ranking;
    }

    public String bundleSymbolicName() {
        return bundleSymbolicName;
    }

    public String bundleVersion() {
        return bundleVersion;
    }

    /** The tiers it accepts; empty means every tier. */
    public List<String> tiers() {
        return tiers;
    }

    /** The regions it serves; empty means no region preference. */
    public List<String> regions() {
        return regions;
    }

    /** Its non-secret service properties, as strings. */
    public Map<String, String> properties() {
        return properties;
    }

    /** Health probes failed in a row (0 when the last one passed). */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** Why the last failed probe failed, kept after recovery until the next failure. */
    public Optional<String> lastReason() {
        return Optional.ofNullable(lastReason);
    }

    /** When it was last probed; empty if never. */
    public Optional<Instant> lastProbe() {
        return Optional.ofNullable(lastProbe);
    }

    public Optional<Duration> lastLatency() {
        return Optional.ofNullable(lastLatency);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackendStatus other && name.equals(other.name) && state == other.state
                && serviceId == other.serviceId && ranking == other.ranking
                && bundleSymbolicName.equals(other.bundleSymbolicName) && bundleVersion.equals(other.bundleVersion)
                && tiers.equals(other.tiers) && regions.equals(other.regions) && properties.equals(other.properties)
                && consecutiveFailures == other.consecutiveFailures && Objects.equals(lastReason, other.lastReason)
                && Objects.equals(lastProbe, other.lastProbe) && Objects.equals(lastLatency, other.lastLatency);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, state, serviceId, ranking, bundleSymbolicName, bundleVersion);
    }

    @Override
    public String toString() {
        return "backend " + name + " [" + state + ", service " + serviceId + ", ranking " + ranking + ", bundle "
                + bundleSymbolicName + " " + bundleVersion + ", tiers " + tiers + ", regions " + regions
                + ", failures " + consecutiveFailures + (lastReason == null ? "" : ", last reason: " + lastReason) + "]";
    }

    /** Collects the fields of a {@link BackendStatus}. */
    public static final class Builder {
        private String name;
        private State state;
        private long serviceId;
        private int ranking;
        private String bundleSymbolicName;
        private String bundleVersion;
        private List<String> tiers = List.of();
        private List<String> regions = List.of();
        private Map<String, String> properties = Map.of();
        private int consecutiveFailures;
        private String lastReason;
        private Instant lastProbe;
        private Duration lastLatency;

        private Builder() {
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder state(State state) {
            this.state = state;
            return this;
        }

        public Builder serviceId(long serviceId) {
            this.serviceId = serviceId;
            return this;
        }

        public Builder ranking(int ranking) {
            this.ranking = ranking;
            return this;
        }

        public Builder bundle(String symbolicName, String version) {
            this.bundleSymbolicName = symbolicName;
            this.bundleVersion = version;
            return this;
        }

        public Builder tiers(List<String> tiers) {
            this.tiers = tiers;
            return this;
        }

        public Builder regions(List<String> regions) {
            this.regions = regions;
            return this;
        }

        public Builder properties(Map<String, String> properties) {
            this.properties = properties;
            return this;
        }

        public Builder health(int consecutiveFailures, String lastReason, Instant lastProbe, Duration lastLatency) {
            this.consecutiveFailures = consecutiveFailures;
            this.lastReason = lastReason;
            this.lastProbe = lastProbe;
            this.lastLatency = lastLatency;
            return this;
        }

        public BackendStatus build() {
            return new BackendStatus(this);
        }
    }
}
