package org.openkcm.keystore.api;

/** What kind of party owns a key. */
public enum OwnerKind {
    TENANT,
    SERVICE,
    NODE;

    /** The lower-case form used in storage paths and configuration. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
