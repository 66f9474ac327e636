package org.openkcm.keystore.plugins;

import java.time.Instant;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.plugins.proto.v1.KeyFilter.Builder;

/**
 * The api's types to the plugin contract's messages and back. Whatever comes back from a plugin
 * is rebuilt through the api's builders, so a malformed response fails their validation and never
 * reaches a caller as a key.
 */
final class ProtoMapping {
    private ProtoMapping() {
    }

    static org.openkcm.keystore.plugins.proto.v1.KeyId id(KeyId id) {
        return org.openkcm.keystore.plugins.proto.v1.KeyId.newBuilder().setName(id.name()).setVersion(id.version()).build();
    }

    static KeyId id(org.openkcm.keystore.plugins.proto.v1.KeyId id) {
        return KeyId.of(id.getName(), id.getVersion());
    }

    static org.openkcm.keystore.plugins.proto.v1.KeyMetadata metadata(KeyMetadata m) {
        org.openkcm.keystore.plugins.proto.v1.KeyMetadata.Builder b = org.openkcm.keystore.plugins.proto.v1.KeyMetadata
                .newBuilder()
                .setId(id(m.id()))
                .setType(type(m.type()))
                .setAlgorithm(m.algorithm())
                .setKeySize(m.keySize())
                .setStatus(status(m.status()))
                .setOwner(org.openkcm.keystore.plugins.proto.v1.Owner.newBuilder()
                        .setKind(ownerKind(m.owner().kind())).setId(m.owner().id()))
                .putAllTags(m.tags())
                .setCreatedMillis(m.created().toEpochMilli())
                .setUpdatedMillis(m.updated().toEpochMilli())
                .setRevision(m.revision());
        m.expiry().ifPresent(e -> b.setExpiryMillis(e.toEpochMilli()));
        m.region().ifPresent(b::setRegion);
        m.parent().ifPresent(p -> b.setParent(id(p)));
        m.lifecycleMac().ifPresent(b::setLifecycleMac);
        return b.build();
    }

    static KeyMetadata metadata(org.openkcm.keystore.plugins.proto.v1.KeyMetadata m) {
        return KeyMetadata.builder()
                .id(id(m.getId()))
                .type(type(m.getType()))
                .algorithm(m.getAlgorithm())
                .keySize(m.getKeySize())
                .status(status(m.getStatus()))
                .expiry(m.hasExpiryMillis() ? Instant.ofEpochMilli(m.getExpiryMillis()) : null)
                .owner(Owner.of(ownerKind(m.getOwner().getKind()), m.getOwner().getId()))
                .region(m.hasRegion() ? m.getRegion() : null)
                .parent(m.hasParent() ? id(m.getParent()) : null)
                .tags(m.getTagsMap())
                .created(Instant.ofEpochMilli(m.getCreatedMillis()))
                .updated(Instant.ofEpochMilli(m.getUpdatedMillis()))
                .revision(m.getRevision())
                .lifecycleMac(m.hasLifecycleMac() ? m.getLifecycleMac() : null)
                .build();
    }

    static org.openkcm.keystore.plugins.proto.v1.KeyFilter filter(KeyFilter f) {
        Builder b = org.openkcm.keystore.plugins.proto.v1.KeyFilter.newBuilder()
                .putAllTags(f.tags())
                .setPageSize(f.pageSize());
        f.ownerKind().ifPresent(k -> b.setOwnerKind(ownerKind(k)));
        f.ownerId().ifPresent(b::setOwnerId);
        f.type().ifPresent(t -> b.setType(type(t)));
        f.status().ifPresent(s -> b.setStatus(status(s)));
        f.region().ifPresent(b::setRegion);
        f.cursor().ifPresent(b::setCursor);
        return b.build();
    }

    private static org.openkcm.keystore.plugins.proto.v1.KeyType type(KeyType t) {
        return switch (t) {
            case L2 -> org.openkcm.keystore.plugins.proto.v1.KeyType.KEY_TYPE_L2;
            case L3 -> org.openkcm.keystore.plugins.proto.v1.KeyType.KEY_TYPE_L3;
            case L4 -> org.openkcm.keystore.plugins.proto.v1.KeyType.KEY_TYPE_L4;
        };
    }

    private static KeyType type(org.openkcm.keystore.plugins.proto.v1.KeyType t) {
        return switch (t) {
            case KEY_TYPE_L2 -> KeyType.L2;
            case KEY_TYPE_L3 -> KeyType.L3;
            case KEY_TYPE_L4 -> KeyType.L4;
            default -> null; // refused by the builder as a required field
        };
    }

    private static org.openkcm.keystore.plugins.proto.v1.KeyStatus status(KeyStatus s) {
        return switch (s) {
            case ACTIVE -> org.openkcm.keystore.plugins.proto.v1.KeyStatus.KEY_STATUS_ACTIVE;
            case DEPRECATED -> org.openkcm.keystore.plugins.proto.v1.KeyStatus.KEY_STATUS_DEPRECATED;
            case RETIRED -> org.openkcm.keystore.plugins.proto.v1.KeyStatus.KEY_STATUS_RETIRED;
        };
    }

    private static KeyStatus status(org.openkcm.keystore.plugins.proto.v1.KeyStatus s) {
        return switch (s) {
            case KEY_STATUS_ACTIVE -> KeyStatus.ACTIVE;
            case KEY_STATUS_DEPRECATED -> KeyStatus.DEPRECATED;
            case KEY_STATUS_RETIRED -> KeyStatus.RETIRED;
            default -> null;
        };
    }

    private static org.openkcm.keystore.plugins.proto.v1.OwnerKind ownerKind(OwnerKind k) {
        return switch (k) {
            case TENANT -> org.openkcm.keystore.plugins.proto.v1.OwnerKind.OWNER_KIND_TENANT;
            case SERVICE -> org.openkcm.keystore.plugins.proto.v1.OwnerKind.OWNER_KIND_SERVICE;
            case NODE -> org.openkcm.keystore.plugins.proto.v1.OwnerKind.OWNER_KIND_NODE;
        };
    }

    private static OwnerKind ownerKind(org.openkcm.keystore.plugins.proto.v1.OwnerKind k) {
        return switch (k) {
            case OWNER_KIND_TENANT -> OwnerKind.TENANT;
            case OWNER_KIND_SERVICE -> OwnerKind.SERVICE;
            case OWNER_KIND_NODE -> OwnerKind.NODE;
            default -> null;
        };
    }
}
