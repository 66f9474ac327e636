package org.openkcm.keystore.core.routing;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.RouteDescription;

/**
 * One route of the policy: criteria a key's metadata must meet (each one unset matches every key)
 * and the {@code keystore.name} it sends such keys to.
 * <p>
 * Specificity: 1 for a tier list, 1 for an owner kind, 2 for an exact owner id or 1 for an owner
 * id prefix, 1 for a region. Of the routes that match a key, the most specific wins; then the
 * highest priority. Two routes of equal specificity and priority that can match one key and name
 * different targets make the policy ambiguous.
 */
public record Route(String name, Set<KeyType> tiers, OwnerKind ownerKind, String ownerId, String ownerIdPrefix,
        String region, int priority, String target) {

    public Route {
        tiers = tiers.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(tiers));
        ownerId = blankToNull(ownerId);
        ownerIdPrefix = blankToNull(ownerIdPrefix);
        region = blankToNull(region);
        if (target == null || target.isBlank()) {
            throw new IllegalArgumentException("route " + name + ": target (a keystore.name) is required");
        }
        target = target.trim();
        if (ownerId != null && ownerIdPrefix != null) {
            throw new IllegalArgumentException("route " + name + ": set ownerId or ownerIdPrefix, not both");
        }
    }

    /** A route from configuration values, each checked; the message names the route and the value. */
    public static Route of(String name, String[] tiers, String ownerKind, String ownerId, String ownerIdPrefix,
            String region, int priority, String target) {
        Set<KeyType> types = EnumSet.noneOf(KeyType.class);
        for (String tier : org.openkcm.keystore.api.KeystoreProperties.values(tiers)) {
            try {
                types.add(KeyType.valueOf(tier.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("route " + name + ": tiers: " + tier + " is not one of L2, L3, L4");
            }
        }
        OwnerKind kind = null;
        if (ownerKind != null && !ownerKind.isBlank()) {
            try {
                kind = OwnerKind.valueOf(ownerKind.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("route " + name + ": ownerKind: " + ownerKind
                        + " is not one of TENANT, SERVICE, NODE");
            }
        }
        return new Route(name, types, kind, ownerId, ownerIdPrefix, region, priority, target);
    }

    /** The default route: every key no route matches goes to {@code target}. */
    public static Route fallback(String target) {
        return new Route("(default)", Set.of(), null, null, null, null, Integer.MIN_VALUE, target);
    }

    /** Whether this is the default route ({@link #fallback}), not a configured one. */
    public boolean isFallback() {
        return priority == Integer.MIN_VALUE && "(default)".equals(name) && specificity() == 0;
    }

    public int specificity() {
        return (tiers.isEmpty() ? 0 : 1) + (ownerKind == null ? 0 : 1)
                + (ownerId != null ? 2 : ownerIdPrefix != null ? 1 : 0) + (region == null ? 0 : 1);
    }

    public boolean matches(KeyMetadata m) {
        return (tiers.isEmpty() || tiers.contains(m.type()))
                && (ownerKind == null || ownerKind == m.owner().kind())
                && (ownerId == null || ownerId.equals(m.owner().id()))
                && (ownerIdPrefix == null || m.owner().id().startsWith(ownerIdPrefix))
                && (region == null || region.equals(m.region().orElse(null)));
    }

    /** True if some key could match both routes. */
    public boolean overlaps(Route o) {
        if (!tiers.isEmpty() && !o.tiers.isEmpty() && tiers.stream().noneMatch(o.tiers::contains)) {
            return false;
        }
        if (ownerKind != null && o.ownerKind != null && ownerKind != o.ownerKind) {
            return false;
        }
        if (region != null && o.region != null && !region.equals(o.region)) {
            return false;
        }
        String a = ownerId != null ? ownerId : ownerIdPrefix;
        String b = o.ownerId != null ? o.ownerId : o.ownerIdPrefix;
        if (a == null || b == null) {
            return true;
        }
        if (ownerId != null && o.ownerId != null) {
            return ownerId.equals(o.ownerId);
        }
        if (ownerId != null) {
            return ownerId.startsWith(o.ownerIdPrefix);
        }
        if (o.ownerId != null) {
            return o.ownerId.startsWith(ownerIdPrefix);
        }
        return ownerIdPrefix.startsWith(o.ownerIdPrefix) || o.ownerIdPrefix.startsWith(ownerIdPrefix);
    }

    RouteDescription describe(boolean inForce, String error) {
        List<String> tierNames = tiers.stream().sorted().map(KeyType::name).collect(Collectors.toList());
        return new RouteDescription(name, tierNames, ownerKind == null ? null : ownerKind.name(), ownerId,
                ownerIdPrefix, region, priority == Integer.MIN_VALUE ? 0 : priority, specificity(), target, inForce,
                error);
    }

    @Override
    public String toString() {
        return "route " + name + " -> " + target;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
