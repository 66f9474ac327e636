package org.openkcm.keystore.grpc;

import java.util.Locale;

import org.openkcm.keystore.api.InvalidInputException;

/** What a grant allows a caller to do, as the grant configuration names it. */
enum OperationClass {
    /** Read plaintext key material (GetMaterial; Import hands material in). */
    MATERIAL,
    /** Read metadata (GetMetadata, List). */
    METADATA,
    /** Create, change and delete keys (Generate, Import, Rotate, SetStatus, SetExpiry, SetTags, Delete). */
    LIFECYCLE,
    /** Every AdminService call. */
    ADMIN;

    static OperationClass parse(String field, String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(field, "must be one of material, metadata, lifecycle, admin");
        }
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
