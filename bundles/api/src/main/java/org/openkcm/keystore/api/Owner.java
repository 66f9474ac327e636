package org.openkcm.keystore.api;

import java.util.Objects;

/** The tenant, service or node that owns a key, and its id. */
public final class Owner {
    private final OwnerKind kind;
    private final String id;

    private Owner(OwnerKind kind, String id) {
        this.kind = kind;
        this.id = id;
    }

    /** An owner whose kind and id were validated already (those a {@link KeyMetadata} keeps). */
    static Owner validated(OwnerKind kind, String id) {
        return new Owner(kind, id);
    }

    public static Owner of(OwnerKind kind, String id) {
        return new Owner(Validation.required("owner.kind", kind), Validation.ownerId(id));
    }

    public static Owner tenant(String id) {
        return of(OwnerKind.TENANT, id);
    }

    public static Owner service(String id) {
        return of(OwnerKind.SERVICE, id);
    }

    public static Owner node(String id) {
        return of(OwnerKind.NODE, id);
    }

    public OwnerKind kind() {
        return kind;
    }

    public String id() {
        return id;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Owner other && kind == other.kind && id.equals(other.id);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, id);
    }

    @Override
    public String toString() {
        return kind.label() + "/" + id;
    }
}
