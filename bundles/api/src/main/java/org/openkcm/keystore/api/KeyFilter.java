package org.openkcm.keystore.api;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Which keys {@link Keystore#listKeys} returns, and which page of them. Every criterion that is
 * set must match (tags: each given tag must be present with the given value). Pages come in the
 * stable order of {@link KeyId}; the cursor is opaque and comes from the previous page.
 */
public final class KeyFilter {
    private static final KeyFilter ALL = builder().build();

    private final OwnerKind ownerKind;
    private final String ownerId;
    private final KeyType type;
    private final KeyStatus status;
    private final String region;
    private final Map<String, String> tags;
    private final int pageSize;
    private final String cursor;

    private KeyFilter(Builder b) {
        this.ownerKind = b.ownerKind;
        this.ownerId = b.ownerId == null ? null : Validation.identifier("filter.ownerId", b.ownerId,
                Validation.MAX_NAME_LENGTH);
        this.type = b.type;
        this.status = b.status;
        this.region = b.region == null ? null : Validation.identifier("filter.region", b.region,
                Validation.MAX_REGION_LENGTH);
        this.tags = Collections.unmodifiableMap(new TreeMap<>(Validation.tags(b.tags)));
        this.pageSize = Validation.pageSize(b.pageSize);
        this.cursor = b.cursor == null ? null : Validation.cursor(b.cursor);
    }

    /** The first page of every key, {@link Validation#DEFAULT_PAGE_SIZE} at a time. */
    public static KeyFilter all() {
        return ALL;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The same criteria, for the page that starts at the given cursor. */
    public KeyFilter withCursor(String cursor) {
        return toBuilder().cursor(cursor).build();
    }

    public Optional<OwnerKind> ownerKind() {
        return Optional.ofNullable(ownerKind);
    }

    public Optional<String> ownerId() {
        return Optional.ofNullable(ownerId);
    }

    public Optional<KeyType> type() {
        return Optional.ofNullable(type);
    }

    public Optional<KeyStatus> status() {
        return Optional.ofNullable(status);
    }

    public Optional<String> region() {
        return Optional.ofNullable(region);
    }

    public Map<String, String> tags() {
        return tags;
    }

    public int pageSize() {
        return pageSize;
    }

    public Optional<String> cursor() {
        return Optional.ofNullable(cursor);
    }

    /** True if the metadata meets every criterion of this filter (paging aside). */
    public boolean matches(KeyMetadata m) {
        return (ownerKind == null || ownerKind == m.owner().kind())
                && (ownerId == null || ownerId.equals(m.owner().id()))
                && (type == null || type == m.type())
                && (status == null || status == m.status())
                && (region == null || region.equals(m.region().orElse(null)))
                && m.tags().entrySet().containsAll(tags.entrySet());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyFilter other && ownerKind == other.ownerKind && Objects.equals(ownerId, other.ownerId)
                && type == other.type && status == other.status && Objects.equals(region, other.region)
                && tags.equals(other.tags) && pageSize == other.pageSize && Objects.equals(cursor, other.cursor);
    }

    @Override
    public int hashCode() {
        return Objects.hash(ownerKind, ownerId, type, status, region, tags, pageSize, cursor);
    }

    @Override
    public String toString() {
        return "KeyFilter[ownerKind=" + ownerKind + ", ownerId=" + ownerId + ", type=" + type + ", status=" + status
                + ", region=" + region + ", tags=" + tags + ", pageSize=" + pageSize + ", cursor=" + cursor + "]";
    }

    /** Collects the criteria of a {@link KeyFilter}; {@link #build()} validates them. */
    public static final class Builder {
        private OwnerKind ownerKind;
        private String ownerId;
        private KeyType type;
        private KeyStatus status;
        private String region;
        private Map<String, String> tags = Map.of();
        private int pageSize = Validation.DEFAULT_PAGE_SIZE;
        private String cursor;

        private Builder() {
        }

        private Builder(KeyFilter f) {
            ownerKind = f.ownerKind;
            ownerId = f.ownerId;
            type = f.type;
            status = f.status;
            region = f.region;
            tags = f.tags;
            pageSize = f.pageSize;
            cursor = f.cursor;
        }

        public Builder owner(Owner owner) {
            this.ownerKind = owner.kind();
            this.ownerId = owner.id();
            return this;
        }

        public Builder ownerKind(OwnerKind ownerKind) {
            this.ownerKind = ownerKind;
            return this;
        }

        public Builder ownerId(String ownerId) {
            this.ownerId = ownerId;
            return this;
        }

        public Builder type(KeyType type) {
            this.type = type;
            return this;
        }

        public Builder status(KeyStatus status) {
            this.status = status;
            return this;
        }

        public Builder region(String region) {
            this.region = region;
            return this;
        }

        public Builder tags(Map<String, String> tags) {
            this.tags = tags;
            return this;
        }

        public Builder tag(String key, String value) {
            Map<String, String> more = new TreeMap<>(tags);
            more.put(key, value);
            this.tags = more;
            return this;
        }

        public Builder pageSize(int pageSize) {
            this.pageSize = pageSize;
            return this;
        }

        /** @param cursor the cursor of the previous page, or null for the first page */
        public Builder cursor(String cursor) {
            this.cursor = cursor;
            return this;
        }

        /** @throws InvalidInputException naming the first criterion that breaks a rule */
        public KeyFilter build() {
            return new KeyFilter(this);
        }
    }
}
