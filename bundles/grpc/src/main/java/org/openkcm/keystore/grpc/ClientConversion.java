package org.openkcm.keystore.grpc;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.grpc.v1.KeyFailure;
import org.openkcm.keystore.grpc.v1.ListResponse;

import com.google.protobuf.Timestamp;

/**
 * The client side's conversions, the mirror of {@link ProtoConversion}: api requests to the wire,
 * and the server's answers back into the api's values, so that a {@link RemoteKeystore} returns
 * exactly what the keystore's own services would have.
 */
final class ClientConversion {
    private ClientConversion() {
    }

    // ---- to the wire

    static org.openkcm.keystore.grpc.v1.KeySpec keySpec(KeySpec spec) {
        org.openkcm.keystore.grpc.v1.KeySpec.Builder b = org.openkcm.keystore.grpc.v1.KeySpec.newBuilder()
                .setName(spec.name()).setType(ProtoConversion.keyType(spec.type())).setAlgorithm(spec.algorithm())
                .setKeySize(spec.keySize()).setOwner(ProtoConversion.owner(spec.owner())).putAllTags(spec.tags());
        spec.region().ifPresent(b::setRegion);
        spec.parent().ifPresent(p -> b.setParent(ProtoConversion.keyId(p)));
        spec.expiry().ifPresent(e -> b.setExpiry(ProtoConversion.timestamp(e)));
        return b.build();
    }

    static org.openkcm.keystore.grpc.v1.KeyFilter keyFilter(KeyFilter filter) {
        org.openkcm.keystore.grpc.v1.KeyFilter.Builder b = org.openkcm.keystore.grpc.v1.KeyFilter.newBuilder()
                .putAllTags(filter.tags()).setPageSize(filter.pageSize());
        filter.ownerKind().ifPresent(k -> b.setOwnerKind(ownerKind(k)));
        filter.ownerId().ifPresent(b::setOwnerId);
        filter.type().ifPresent(t -> b.setType(ProtoConversion.keyType(t)));
        filter.status().ifPresent(s -> b.setStatus(ProtoConversion.keyStatus(s)));
        filter.region().ifPresent(b::setRegion);
        filter.cursor().ifPresent(b::setCursor);
        return b.build();
    }

    static org.openkcm.keystore.grpc.v1.OwnerKind ownerKind(OwnerKind kind) {
        return switch (kind) {
            case TENANT -> org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_TENANT;
            case SERVICE -> org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_SERVICE;
            case NODE -> org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_NODE;
        };
    }

    // ---- from the wire

    static KeyId keyId(org.openkcm.keystore.grpc.v1.KeyId id) {
        return KeyId.of(id.getName(), id.getVersion());
    }

    static KeyType keyType(org.openkcm.keystore.grpc.v1.KeyType type) {
        return switch (type) {
            case KEY_TYPE_L2 -> KeyType.L2;
            case KEY_TYPE_L3 -> KeyType.L3;
            case KEY_TYPE_L4 -> KeyType.L4;
            default -> throw new IllegalStateException("the server sent the key type " + type);
        };
    }

    static KeyStatus keyStatus(org.openkcm.keystore.grpc.v1.KeyStatus status) {
        return switch (status) {
            case KEY_STATUS_ACTIVE -> KeyStatus.ACTIVE;
            case KEY_STATUS_DEPRECATED -> KeyStatus.DEPRECATED;
            case KEY_STATUS_RETIRED -> KeyStatus.RETIRED;
            default -> throw new IllegalStateException("the server sent the key status " + status);
        };
    }

    static Owner owner(org.openkcm.keystore.grpc.v1.Owner owner) {
        OwnerKind kind = switch (owner.getKind()) {
            case OWNER_KIND_TENANT -> OwnerKind.TENANT;
            case OWNER_KIND_SERVICE -> OwnerKind.SERVICE;
            case OWNER_KIND_NODE -> OwnerKind.NODE;
            default -> throw new IllegalStateException("the server sent the owner kind " + owner.getKind());
        };
        return Owner.of(kind, owner.getId());
    }

    static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    static KeyMetadata metadata(org.openkcm.keystore.grpc.v1.KeyMetadata m) {
        KeyMetadata.Builder b = KeyMetadata.builder().id(keyId(m.getId())).type(keyType(m.getType()))
                .algorithm(m.getAlgorithm()).keySize(m.getKeySize()).status(keyStatus(m.getStatus()))
                .owner(owner(m.getOwner())).tags(m.getTagsMap()).created(instant(m.getCreated()))
                .updated(instant(m.getUpdated())).revision(m.getRevision());
        if (m.hasExpiry()) {
            b.expiry(instant(m.getExpiry()));
        }
        if (m.hasRegion()) {
            b.region(m.getRegion());
        }
        if (m.hasParent()) {
            b.parent(keyId(m.getParent()));
        }
        if (m.hasLifecycleMac()) {
            b.lifecycleMac(m.getLifecycleMac());
        }
        return b.build();
    }

    static KeyPage page(ListResponse response) {
        return KeyPage.of(response.getKeysList().stream().map(ClientConversion::metadata).toList(),
                response.getNextCursor().isEmpty() ? null : response.getNextCursor(), response.getUnreadableList());
    }

    static BackendStatus backend(org.openkcm.keystore.grpc.v1.BackendStatus s) {
        BackendStatus.State state = switch (s.getState()) {
            case STATE_ACTIVE -> BackendStatus.State.ACTIVE;
            case STATE_SHADOWED -> BackendStatus.State.SHADOWED;
            case STATE_DOWN -> BackendStatus.State.DOWN;
            case STATE_UNAVAILABLE -> BackendStatus.State.UNAVAILABLE;
            default -> throw new IllegalStateException("the server sent the backend state " + s.getState());
        };
        return BackendStatus.builder().name(s.getName()).state(state).serviceId(s.getServiceId())
                .ranking(s.getRanking()).bundle(s.getBundleSymbolicName(), s.getBundleVersion())
                .tiers(s.getTiersList()).regions(s.getRegionsList()).properties(s.getPropertiesMap())
                .health(s.getConsecutiveFailures(), s.hasLastReason() ? s.getLastReason() : null,
                        s.hasLastProbe() ? instant(s.getLastProbe()) : null,
                        s.hasLastLatency() ? Duration.ofSeconds(s.getLastLatency().getSeconds(),
                                s.getLastLatency().getNanos()) : null)
                .build();
    }

    static RouteDescription route(org.openkcm.keystore.grpc.v1.Route r) {
        return new RouteDescription(r.getName(), r.getTiersList(), r.hasOwnerKind() ? r.getOwnerKind() : null,
                r.hasOwnerId() ? r.getOwnerId() : null, r.hasOwnerIdPrefix() ? r.getOwnerIdPrefix() : null,
                r.hasRegion() ? r.getRegion() : null, r.getPriority(), r.getSpecificity(), r.getTarget(),
                r.getInForce(), r.hasError() ? r.getError() : null);
    }

    static CacheStatistics cacheStatistics(org.openkcm.keystore.grpc.v1.CacheStatistics c) {
        CacheStatistics.Layer layer = c.getLayer() == org.openkcm.keystore.grpc.v1.CacheStatistics.Layer.LAYER_RECORDS
                ? CacheStatistics.Layer.RECORDS : CacheStatistics.Layer.MATERIAL;
        return new CacheStatistics(layer, keyType(c.getTier()), c.getHits(), c.getMisses(), c.getLoads(),
                c.getEvictions(), c.getInvalidations(), c.getSize());
    }

    static Map<KeyId, String> failures(List<KeyFailure> failed) {
        Map<KeyId, String> out = new LinkedHashMap<>();
        failed.forEach(f -> out.put(keyId(f.getId()), f.getReason()));
        return out;
    }

    static List<KeyId> keyIds(List<org.openkcm.keystore.grpc.v1.KeyId> ids) {
        return ids.stream().map(ClientConversion::keyId).toList();
    }

    static RewrapReport rewrap(org.openkcm.keystore.grpc.v1.RewrapReport r) {
        return new RewrapReport(r.getKekId(), r.getKekVersion(), r.getExamined(), r.getRewrapped(),
                r.getAlreadyCurrent(), r.getVanished(), failures(r.getFailedList()));
    }

    static ReconciliationReport reconciliation(org.openkcm.keystore.grpc.v1.ReconciliationReport r) {
        return new ReconciliationReport(r.getBackend(), r.getHeld(), r.getKnown(), keyIds(r.getOrphansList()),
                keyIds(r.getRecentList()), keyIds(r.getInDoubtList()), keyIds(r.getMissingList()),
                keyIds(r.getRemovedList()), failures(r.getFailuresList()), keyIds(r.getForgottenList()),
                keyIds(r.getUnknownList()), findingIds(r.getFindingsList()));
    }

    /** The finding ids a daemon's report carries, by key, in the report's order. */
    private static Map<KeyId, String> findingIds(List<org.openkcm.keystore.grpc.v1.ReconcileFinding> findings) {
        Map<KeyId, String> ids = new LinkedHashMap<>();
        for (org.openkcm.keystore.grpc.v1.ReconcileFinding f : findings) {
            ids.put(keyId(f.getKey()), f.getId());
        }
        return ids;
    }

    static MigrationReport migration(org.openkcm.keystore.grpc.v1.MigrationReport r) {
        return new MigrationReport(r.getExamined(), r.getMoved(), r.getInPlace(), failures(r.getFailedList()),
                r.getFinished());
    }
}
