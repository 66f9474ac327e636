package org.openkcm.keystore.api;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One route of the routing policy as configured (factory PID {@code org.openkcm.keystore.route}),
 * or the default route that takes keys no route matches. A criterion that is empty matches
 * everything. {@link #error()} is set when the route, or the policy it belongs to, was refused.
 */
public final class RouteDescription {
    private final String name;
    private final List<String> tiers;
    private final String ownerKind;
    private final String ownerId;
    private final String ownerIdPrefix;
    private final String region;
    private final int priority;
    private final int specificity;
    private final String target;
    private final boolean inForce;
    private final String error;

    public RouteDescription(String name, List<String> tiers, String ownerKind, String ownerId, String ownerIdPrefix,
            String region, int priority, int specificity, String target, boolean inForce, String error) {
        this.name = Objects.requireNonNull(name, "name");
        this.tiers = List.copyOf(tiers);
        this.ownerKind = ownerKind;
        this.ownerId = ownerId;
        this.ownerIdPrefix = ownerIdPrefix;
        this.region = region;
        this.priority = priority;
        this.specificity = specificity;
        this.target = Objects.requireNonNull(target, "target");
        this.inForce = inForce;
        this.error = error;
    }

    public String name() {
        return name;
    }

    /** The tiers it matches; empty means every tier. */
    public List<String> tiers() {
        return tiers;
    }

    public Optional<String> ownerKind() {
        return Optional.ofNullable(ownerKind);
    }

    public Optional<String> ownerId() {
        return Optional.ofNullable(ownerId);
    }

    public Optional<String> ownerIdPrefix() {
        return Optional.ofNullable(ownerIdPrefix);
    }

    public Optional<String> region() {
        return Optional.ofNullable(region);
    }

    public int priority() {
        return priority;
    }

    /** How specific the route is: the more criteria it sets, the higher (see the README's routing rules). */
    public int specificity() {
        return specificity;
    }

    /** The {@code keystore.name} it sends keys to. */
    public String target() {
        return target;
    }

    /** True if the route is part of the policy that routes new keys now. */
    public boolean inForce() {
        return inForce;
    }

    /** Why the route (or the policy it belongs to) was refused. */
    public Optional<String> error() {
        return Optional.ofNullable(error);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RouteDescription other && name.equals(other.name) && tiers.equals(other.tiers)
                && Objects.equals(ownerKind, other.ownerKind) && Objects.equals(ownerId, other.ownerId)
                && Objects.equals(ownerIdPrefix, other.ownerIdPrefix) && Objects.equals(region, other.region)
                && priority == other.priority && specificity == other.specificity && target.equals(other.target)
                && inForce == other.inForce && Objects.equals(error, other.error);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, tiers, target, priority);
    }

    @Override
    public String toString() {
        return "route " + name + " [tiers " + tiers + ", ownerKind " + ownerKind + ", ownerId " + ownerId
                + ", ownerIdPrefix " + ownerIdPrefix + ", region " + region + ", priority " + priority
                + ", specificity " + specificity + "] -> " + target + (inForce ? "" : " (not in force)")
                + (error == null ? "" : ": " + error);
    }
}
