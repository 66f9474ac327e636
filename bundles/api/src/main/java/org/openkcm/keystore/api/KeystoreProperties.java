package org.openkcm.keystore.api;

/** The service properties every {@link Keystore} backend registers with. */
public final class KeystoreProperties {
    /** Stable name of the backend instance, kept across upgrades; routes name their target by it. */
    public static final String NAME = "keystore.name";
    /** The tiers ({@link KeyType} names: L2, L3, L4) the backend accepts. */
    public static final String TIERS = "keystore.tiers";
    /** The regions the backend serves. */
    public static final String REGIONS = "keystore.regions";

    private KeystoreProperties() {
    }
}
