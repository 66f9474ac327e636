package org.openkcm.keystore.core.cache;

import java.time.Clock;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.PolicyRefusedException;

/**
 * The lifecycle rule of every read of material, applied on the metadata read now: a RETIRED key's
 * material is no longer served, nor an expired key's. The key caches apply it at every read, hit or
 * not; the operations apply it when they read without a cache.
 */
public final class Servable {
    private Servable() {
    }

    /**
     * @param clock read only for a key that has an expiry
     * @throws PolicyRefusedException if the key is RETIRED or expired now
     */
    public static void check(KeyId id, KeyMetadata metadata, Clock clock) {
        if (metadata.status() == KeyStatus.RETIRED) {
            throw new PolicyRefusedException(id, "the key is RETIRED; its material is no longer served");
        }
        if (metadata.expiry().isPresent() && metadata.isExpiredAt(clock.instant())) {
            throw new PolicyRefusedException(id, "the key expired at " + metadata.expiry().orElseThrow());
        }
    }
}
