package org.openkcm.keystore.api;

/** The tier of a key in the OpenKCM hierarchy. L1 (the customer root key) never lives here. */
public enum KeyType {
    /** Tenant key, wrapped by the customer's L1 key; lives months. */
    L2,
    /** Service key (KEK), wrapped by an L2 key; lives weeks. */
    L3,
    /** Data key at the crypto edge, wrapped by an L3 key; lives minutes to days. */
    L4
}
