package org.openkcm.keystore.sdk;

import java.time.Instant;
import java.util.Map;
import java.util.SplittableRandom;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.SealedKey;

/** Test data for backend tests: metadata with every field set, and sealed records of any size. */
public final class SampleKeys {
    /** A fixed instant, so that tests compare exact values. */
    public static final Instant T0 = Instant.parse("2026-01-01T00:00:00.123Z");

    private SampleKeys() {
    }

    /** Minimal metadata: an ACTIVE L3 AES-256 key of tenant "acme", revision 1, no optional field. */
    public static KeyMetadata.Builder minimal(KeyId id) {
        return KeyMetadata.builder()
                .id(id)
                .type(KeyType.L3)
                .algorithm("AES")
                .keySize(256)
                .status(KeyStatus.ACTIVE)
                .owner(Owner.tenant("acme"))
                .createdAt(T0);
    }

    public static KeyMetadata minimal(String name) {
        return minimal(KeyId.of(name, 1)).build();
    }

    /** Metadata with every optional field set: expiry, region, parent, tags, lifecycle MAC. */
    public static KeyMetadata full(KeyId id) {
        return minimal(id)
                .type(KeyType.L4)
                .keySize(128)
                .status(KeyStatus.DEPRECATED)
                .expiry(T0.plusSeconds(86_400))
                .owner(Owner.service("payments-api"))
                .region("eu-west-1")
                .parent(KeyId.of("kek-" + id.name(), 3))
                .tags(Map.of("env", "prod", "team", "crypto", "app.kubernetes.io:name", "vault with spaces"))
                .created(T0)
                .updated(T0.plusMillis(5))
                .revision(7)
                .lifecycleMac("bWFjLW9mLXRoZS1saWZlY3ljbGUtZmllbGRz")
                .build();
    }

    /** A sealed record of the given length whose bytes are derived from the seed. */
    public static SealedKey sealed(int length, long seed) {
        byte[] bytes = new byte[length];
        new SplittableRandom(seed).nextBytes(bytes);
        return SealedKey.of(bytes);
    }

    public static SealedKey sealed(long seed) {
        return sealed(64, seed);
    }
}
