package org.openkcm.keystore.api;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The standard metadata of one key version, which every backend persists and returns unchanged.
 * <p>
 * Immutable fields (fixed when the key is stored): id, type, algorithm, key size, owner, region,
 * parent and created time. Lifecycle fields (changed through
 * {@link Keystore#updateKeyMetadata}): status, expiry, tags, updated time, revision and the
 * lifecycle MAC. Times are kept to the millisecond, the precision every backend can store.
 * Holds no key material.
 */
public final class KeyMetadata {
    private static final Map<String, String> NO_TAGS = Collections.unmodifiableSortedMap(new TreeMap<>());

    private final KeyId id;
    private final KeyType type;
    private final String algorithm;
    private final int keySize;
    private final KeyStatus status;
    private final Instant expiry;
    /*
     * The owner's kind and id rather than the Owner: one object fewer per stored record, a cache
     * miss fewer per read of a key at random among a million; owner() builds the Owner.
     */
    private final OwnerKind ownerKind;
    private final String ownerId;
    private final String region;
    private final KeyId parent;
    private final Map<String, String> tags;
    /*
     * The times as epoch milliseconds and an empty tag map shared by every key without tags: a
     * record read at random from a million keys then touches three objects fewer (each a cache
     * miss), and each stored record is three objects smaller.
     */
    private final long createdMillis;
    private final long updatedMillis;
    private final long revision;
    private final String lifecycleMac;

    private KeyMetadata(Builder b) {
        this.id = Validation.required("keyId", b.id);
        this.type = Validation.required("type", b.type);
        this.algorithm = Validation.algorithm(b.algorithm);
        this.keySize = Validation.keySize(b.keySize);
        this.status = Validation.required("status", b.status);
        this.expiry = millis(b.expiry);
        Owner owner = Validation.required("owner", b.owner);
        this.ownerKind = owner.kind();
        this.ownerId = owner.id();
        this.region = b.region == null ? null : Validation.region(b.region);
        this.parent = b.parent;
        if (id.equals(parent)) {
            throw new InvalidInputException("parent", "a key cannot wrap itself", id);
        }
        Map<String, String> validTags = Validation.tags(b.tags);
        this.tags = validTags.isEmpty() ? NO_TAGS : Collections.unmodifiableMap(new TreeMap<>(validTags));
        this.createdMillis = epochMillis("created", b.created);
        this.updatedMillis = epochMillis("updated", b.updated);
        if (updatedMillis < createdMillis) {
            throw new InvalidInputException("updated", "must not be before the created time", id);
        }
        this.revision = Validation.revision("revision", b.revision);
        this.lifecycleMac = b.lifecycleMac == null ? null : Validation.lifecycleMac(b.lifecycleMac);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding every field of this metadata, to derive a changed copy. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    public KeyId id() {
        return id;
    }

    public KeyType type() {
        return type;
    }

    public String algorithm() {
        return algorithm;
    }

    /** The key size in bits. */
    public int keySize() {
        return keySize;
    }

    public KeyStatus status() {
        return status;
    }

    public Optional<Instant> expiry() {
        return Optional.ofNullable(expiry);
    }

    public Owner owner() {
        return Owner.validated(ownerKind, ownerId);
    }

    public Optional<String> region() {
        return Optional.ofNullable(region);
    }

    /** The key that wraps this one, where there is one. */
    public Optional<KeyId> parent() {
        return Optional.ofNullable(parent);
    }

    /** The tags, sorted by key; never null. */
    public Map<String, String> tags() {
        return tags;
    }

    public Instant created() {
        return Instant.ofEpochMilli(createdMillis);
    }

    public Instant updated() {
        return Instant.ofEpochMilli(updatedMillis);
    }

    /** Starts at 1 and grows by one with each metadata update; the compare-and-set token. */
    public long revision() {
        return revision;
    }

    /** An authenticator of the lifecycle fields, computed by the core; opaque to backends. */
    public Optional<String> lifecycleMac() {
        return Optional.ofNullable(lifecycleMac);
    }

    /** True once the expiry time has been reached. */
    public boolean isExpiredAt(Instant now) {
        return expiry != null && !now.isBefore(expiry);
    }

    /** True if every field that must never change after the store is equal in both. */
    public boolean sameImmutableFields(KeyMetadata other) {
        return id.equals(other.id) && type == other.type && algorithm.equals(other.algorithm)
                && keySize == other.keySize && ownerKind == other.ownerKind && ownerId.equals(other.ownerId)
                && Objects.equals(region, other.region) && Objects.equals(parent, other.parent)
                && createdMillis == other.createdMillis;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyMetadata other && sameImmutableFields(other)
                && status == other.status && Objects.equals(expiry, other.expiry) && tags.equals(other.tags)
                && updatedMillis == other.updatedMillis && revision == other.revision
                && Objects.equals(lifecycleMac, other.lifecycleMac);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, type, algorithm, keySize, status, expiry, ownerKind, ownerId, region, parent, tags,
                createdMillis, updatedMillis, revision, lifecycleMac);
    }

    @Override
    public String toString() {
        return "KeyMetadata[id=" + id + ", type=" + type + ", algorithm=" + algorithm + ", keySize=" + keySize
                + ", status=" + status + ", expiry=" + expiry + ", owner=" + owner() + ", region=" + region
                + ", parent=" + parent + ", tags=" + tags + ", created=" + created() + ", updated=" + updated()
                + ", revision=" + revision + "]";
    }

    private static long epochMillis(String field, Instant instant) {
        Validation.required(field, instant);
        try {
            return instant.toEpochMilli();
        } catch (ArithmeticException e) {
            throw new InvalidInputException(field, "out of range: must be within the epoch milliseconds a long holds");
        }
    }

    private static Instant millis(Instant instant) {
        return instant == null ? null : instant.truncatedTo(ChronoUnit.MILLIS);
    }

    /** Collects the fields of a {@link KeyMetadata}; {@link #build()} validates them all. */
    public static final class Builder {
        private KeyId id;
        private KeyType type;
        private String algorithm;
        private int keySize;
        private KeyStatus status = KeyStatus.ACTIVE;
        private Instant expiry;
        private Owner owner;
        private String region;
        private KeyId parent;
        private Map<String, String> tags = Map.of();
        private Instant created;
        private Instant updated;
        private long revision = 1;
        private String lifecycleMac;

        private Builder() {
        }

        private Builder(KeyMetadata m) {
            id = m.id;
            type = m.type;
            algorithm = m.algorithm;
            keySize = m.keySize;
            status = m.status;
            expiry = m.expiry;
            owner = m.owner();
            region = m.region;
            parent = m.parent;
            tags = m.tags;
            created = m.created();
            updated = m.updated();
            revision = m.revision;
            lifecycleMac = m.lifecycleMac;
        }

        public Builder id(KeyId id) {
            this.id = id;
            return this;
        }

        public Builder type(KeyType type) {
            this.type = type;
            return this;
        }

        public Builder algorithm(String algorithm) {
            this.algorithm = algorithm;
            return this;
        }

        public Builder keySize(int bits) {
            this.keySize = bits;
            return this;
        }

        public Builder status(KeyStatus status) {
            this.status = status;
            return this;
        }

        /** @param expiry the expiry time, or null for none */
        public Builder expiry(Instant expiry) {
            this.expiry = expiry;
            return this;
        }

        public Builder owner(Owner owner) {
            this.owner = owner;
            return this;
        }

        /** @param region the region, or null for none */
        public Builder region(String region) {
            this.region = region;
            return this;
        }

        /** @param parent the key that wraps this one, or null for none */
        public Builder parent(KeyId parent) {
            this.parent = parent;
            return this;
        }

        public Builder tags(Map<String, String> tags) {
            this.tags = tags;
            return this;
        }

        public Builder created(Instant created) {
            this.created = created;
            return this;
        }

        public Builder updated(Instant updated) {
            this.updated = updated;
            return this;
        }

        /** Sets created and updated to the same instant. */
        public Builder createdAt(Instant instant) {
            this.created = instant;
            this.updated = instant;
            return this;
        }

        public Builder revision(long revision) {
            this.revision = revision;
            return this;
        }

        /** @param lifecycleMac the opaque authenticator, or null for none */
        public Builder lifecycleMac(String lifecycleMac) {
            this.lifecycleMac = lifecycleMac;
            return this;
        }

        /** @throws InvalidInputException naming the first field that breaks a rule */
        public KeyMetadata build() {
            return new KeyMetadata(this);
        }
    }
}
