package org.openkcm.keystore.grpc;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import javax.security.auth.x500.X500Principal;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;

/**
 * One grant: which client certificates it applies to (a subject, or a subject alternative name),
 * the owners it covers, the tiers and the operation classes. Parsed and checked once, from the
 * factory configuration of {@link ClientGrantComponent#PID}.
 * <p>
 * An owner is written {@code kind:id} for one owner, {@code kind:prefix*} for every owner of that
 * kind whose id starts with the prefix, {@code kind:*} for every owner of the kind, or {@code *}
 * for every owner.
 */
final class ClientGrant {
    private final String name;
    private final X500Principal subject;
    private final String san;
    private final List<OwnerPattern> owners;
    private final Set<KeyType> tiers;
    private final Set<OperationClass> classes;

    private ClientGrant(String name, X500Principal subject, String san, List<OwnerPattern> owners, Set<KeyType> tiers,
            Set<OperationClass> classes) {
        this.name = name;
        this.subject = subject;
        this.san = san;
        this.owners = owners;
        this.tiers = tiers;
        this.classes = classes;
    }

    /**
     * @throws InvalidInputException naming the attribute that is wrong
     */
    static ClientGrant parse(String name, String subject, String san, String[] owners, String[] tiers,
            String[] classes) {
        boolean hasSubject = subject != null && !subject.isBlank();
        boolean hasSan = san != null && !san.isBlank();
        if (hasSubject == hasSan) {
            throw new InvalidInputException("subject", "set exactly one of subject and san");
        }
        X500Principal principal = null;
        if (hasSubject) {
            try {
                principal = new X500Principal(subject.trim());
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("subject", "must be a distinguished name such as CN=app,O=example");
            }
        }
        if (owners == null || owners.length == 0) {
            throw new InvalidInputException("owners", "name at least one owner (kind:id, kind:prefix*, or *)");
        }
        List<OwnerPattern> ownerPatterns = new ArrayList<>();
        for (String owner : owners) {
            ownerPatterns.add(OwnerPattern.parse(owner));
        }
        if (tiers == null || tiers.length == 0) {
            throw new InvalidInputException("tiers", "name at least one tier (L2, L3, L4)");
        }
        Set<KeyType> tierSet = EnumSet.noneOf(KeyType.class);
        for (String tier : tiers) {
            try {
                tierSet.add(KeyType.valueOf(tier.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("tiers", "must be L2, L3 or L4");
            }
        }
        if (classes == null || classes.length == 0) {
            throw new InvalidInputException("classes", "name at least one of material, metadata, lifecycle, admin");
        }
        Set<OperationClass> classSet = EnumSet.noneOf(OperationClass.class);
        for (String c : classes) {
            classSet.add(OperationClass.parse("classes", c));
        }
        return new ClientGrant(name, principal, hasSan ? san.trim() : null, List.copyOf(ownerPatterns),
                Collections.unmodifiableSet(tierSet), Collections.unmodifiableSet(classSet));
    }

    String name() {
        return name;
    }

    /** True if this grant applies to a client certificate with this subject and these alternative names. */
    boolean appliesTo(X500Principal certificateSubject, List<String> alternativeNames) {
        if (subject != null) {
            return subject.equals(certificateSubject);
        }
        return alternativeNames.contains(san);
    }

    boolean allows(OperationClass operation) {
        return classes.contains(operation);
    }

    /** True if this grant allows the operation class on keys of this owner and tier. */
    boolean allows(OperationClass operation, Owner owner, KeyType tier) {
        return classes.contains(operation) && tiers.contains(tier)
                && owners.stream().anyMatch(pattern -> pattern.matches(owner));
    }

    /** True if this grant allows the operation class on keys of every owner of this tier. */
    boolean allowsEveryOwner(OperationClass operation, KeyType tier) {
        return classes.contains(operation) && tiers.contains(tier)
                && owners.stream().anyMatch(pattern -> pattern.kind() == null);
    }

    @Override
    public String toString() {
        return "grant " + name + " (" + (subject != null ? "subject " + subject.getName() : "san " + san) + ": owners "
                + owners + ", tiers " + tiers + ", classes " + classes + ")";
    }

    /** kind:id, kind:prefix*, kind:* or *. */
    record OwnerPattern(OwnerKind kind, String id, boolean prefix) {
        static OwnerPattern parse(String text) {
            String t = text == null ? "" : text.trim();
            if (t.equals("*")) {
                return new OwnerPattern(null, "", true);
            }
            int colon = t.indexOf(':');
            if (colon <= 0 || colon == t.length() - 1) {
                throw new InvalidInputException("owners", "each owner must be kind:id, kind:prefix*, kind:* or *");
            }
            OwnerKind kind;
            try {
                kind = OwnerKind.valueOf(t.substring(0, colon).toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("owners", "the owner kind must be tenant, service or node");
            }
            String id = t.substring(colon + 1);
            boolean prefix = id.endsWith("*");
            if (prefix) {
                id = id.substring(0, id.length() - 1);
            }
            if (id.contains("*")) {
                throw new InvalidInputException("owners", "a * may only end an owner id prefix");
            }
            return new OwnerPattern(kind, id, prefix);
        }

        boolean matches(Owner owner) {
            if (kind != null && kind != owner.kind()) {
                return false;
            }
            return prefix ? owner.id().startsWith(id) : owner.id().equals(id);
        }

        @Override
        public String toString() {
            return kind == null ? "*" : kind.name().toLowerCase(Locale.ROOT) + ":" + id + (prefix ? "*" : "");
        }
    }
}
