package org.openkcm.keystore.api;

/** The lifecycle status of a key version. */
public enum KeyStatus {
    /** Serves every use. */
    ACTIVE,
    /** Still opens existing data but takes no new work. */
    DEPRECATED,
    /** Refused at retrieval; its metadata is kept until it is deleted. */
    RETIRED
}
