package org.openkcm.keystore.api;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What a caller asks {@link KeystoreOperations} to create: the key's name, tier, algorithm and
 * size, owner, and optional region, parent, expiry and tags. The version, status, times and
 * revision are the keystore's to set.
 */
public final class KeySpec {
    private final String name;
    private final KeyType type;
    private final String algorithm;
    private final int keySize;
    private final Owner owner;
    private final String region;
    private final KeyId parent;
    private final Instant expiry;
    private final Map<String, String> tags;

    private KeySpec(Builder b) {
        this.name = Validation.keyName(b.name);
        this.type = Validation.required("type", b.type);
        this.algorithm = Validation.algorithm(b.algorithm);
        this.keySize = Validation.keySize(b.keySize);
        this.owner = Validation.required("owner", b.owner);
        this.region = b.region == null ? null : Validation.region(b.region);
        this.parent = b.parent;
        this.expiry = b.expiry == null ? null : b.expiry.truncatedTo(ChronoUnit.MILLIS);
        this.tags = Collections.unmodifiableMap(new TreeMap<>(Validation.tags(b.tags)));
    }

    public static Builder builder() {
        return new Builder();
    }

    public String name() {
        return name;
    }

    public KeyType type() {
        return type;
    }

    public String algorithm() {
        return algorithm;
    }

    public int keySize() {
        return keySize;
    }

    public Owner owner() {
        return owner;
    }

    public Optional<String> region() {
        return Optional.ofNullable(region);
    }

    public Optional<KeyId> parent() {
        return Optional.ofNullable(parent);
    }

    public Optional<Instant> expiry() {
        return Optional.ofNullable(expiry);
    }

    public Map<String, String> tags() {
        return tags;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeySpec other && name.equals(other.name) && type == other.type
                && algorithm.equals(other.algorithm) && keySize == other.keySize && owner.equals(other.owner)
                && Objects.equals(region, other.region) && Objects.equals(parent, other.parent)
                && Objects.equals(expiry, other.expiry) && tags.equals(other.tags);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, algorithm, keySize, owner, region, parent, expiry, tags);
    }

    @Override
    public String toString() {
        return "KeySpec[name=" + name + ", type=" + type + ", algorithm=" + algorithm + ", keySize=" + keySize
                + ", owner=" + owner + ", region=" + region + ", parent=" + parent + ", expiry=" + expiry
                + ", tags=" + tags + "]";
    }

    /** Collects the fields of a {@link KeySpec}; {@link #build()} validates them. */
    public static final class Builder {
        private String name;
        private KeyType type;
        private String algorithm;
        private int keySize;
        private Owner owner;
        private String region;
        private KeyId parent;
        private Instant expiry;
        private Map<String, String> tags = Map.of();

        private Builder() {
        }

        public Builder name(String name) {
            this.name = name;
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

        public Builder owner(Owner owner) {
            this.owner = owner;
            return this;
        }

        public Builder region(String region) {
            this.region = region;
            return this;
        }

        public Builder parent(KeyId parent) {
            this.parent = parent;
            return this;
        }

        public Builder expiry(Instant expiry) {
            this.expiry = expiry;
            return this;
        }

        public Builder tags(Map<String, String> tags) {
            this.tags = tags;
            return this;
        }

        /** @throws InvalidInputException naming the first field that breaks a rule */
        public KeySpec build() {
            return new KeySpec(this);
        }
    }
}
