package org.openkcm.keystore.grpc;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
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

import com.google.protobuf.Timestamp;

/**
 * Converts between the api's value types and the generated messages. Incoming messages become api
 * values through the api's own builders, so every rule is checked there and an invalid field is
 * reported by name (as its proto field name where the api's name differs).
 */
final class ProtoConversion {
    private ProtoConversion() {
    }

    // ---- from the wire

    static KeyId keyId(String field, org.openkcm.keystore.grpc.v1.KeyId id, boolean required) {
        if (id == null || (!required && id.getName().isEmpty() && id.getVersion() == 0)) {
            return null;
        }
        if (id.getName().isEmpty()) {
            throw new InvalidInputException(field + ".name", "is required");
        }
        if (id.getVersion() == 0) {
            throw new InvalidInputException(field + ".version", "is required (versions start at 1)");
        }
        return KeyId.of(id.getName(), id.getVersion());
    }

    static KeySpec keySpec(org.openkcm.keystore.grpc.v1.GenerateRequest request) {
        if (!request.hasSpec()) {
            throw new InvalidInputException("spec", "is required");
        }
        return keySpec(request.getSpec());
    }

    static KeySpec keySpec(org.openkcm.keystore.grpc.v1.KeySpec spec) {
        KeySpec.Builder b = KeySpec.builder().name(spec.getName()).type(keyType("spec.type", spec.getType(), true))
                .algorithm(spec.getAlgorithm()).keySize(spec.getKeySize())
                .owner(owner("spec.owner", spec.hasOwner() ? spec.getOwner() : null)).tags(spec.getTagsMap());
        if (spec.hasRegion()) {
            b.region(spec.getRegion());
        }
        if (spec.hasParent()) {
            b.parent(keyId("spec.parent", spec.getParent(), false));
        }
        if (spec.hasExpiry()) {
            b.expiry(instant(spec.getExpiry()));
        }
        return b.build();
    }

    static Owner owner(String field, org.openkcm.keystore.grpc.v1.Owner owner) {
        if (owner == null) {
            throw new InvalidInputException(field, "is required");
        }
        OwnerKind kind = switch (owner.getKind()) {
            case OWNER_KIND_TENANT -> OwnerKind.TENANT;
            case OWNER_KIND_SERVICE -> OwnerKind.SERVICE;
            case OWNER_KIND_NODE -> OwnerKind.NODE;
            default -> throw new InvalidInputException(field + ".kind", "must be tenant, service or node");
        };
        if (owner.getId().isEmpty()) {
            throw new InvalidInputException(field + ".id", "is required");
        }
        return Owner.of(kind, owner.getId());
    }

    static KeyType keyType(String field, org.openkcm.keystore.grpc.v1.KeyType type, boolean required) {
        return switch (type) {
            case KEY_TYPE_L2 -> KeyType.L2;
            case KEY_TYPE_L3 -> KeyType.L3;
            case KEY_TYPE_L4 -> KeyType.L4;
            case KEY_TYPE_UNSPECIFIED -> {
                if (required) {
                    throw new InvalidInputException(field, "is required (L2, L3 or L4)");
                }
                yield null;
            }
            default -> throw new InvalidInputException(field, "must be L2, L3 or L4");
        };
    }

    static KeyStatus keyStatus(String field, org.openkcm.keystore.grpc.v1.KeyStatus status, boolean required) {
        return switch (status) {
            case KEY_STATUS_ACTIVE -> KeyStatus.ACTIVE;
            case KEY_STATUS_DEPRECATED -> KeyStatus.DEPRECATED;
            case KEY_STATUS_RETIRED -> KeyStatus.RETIRED;
            case KEY_STATUS_UNSPECIFIED -> {
                if (required) {
                    throw new InvalidInputException(field, "is required (active, deprecated or retired)");
                }
                yield null;
            }
            default -> throw new InvalidInputException(field, "must be active, deprecated or retired");
        };
    }

    static KeyFilter keyFilter(org.openkcm.keystore.grpc.v1.KeyFilter filter) {
        KeyFilter.Builder b = KeyFilter.builder();
        switch (filter.getOwnerKind()) {
            case OWNER_KIND_TENANT -> b.ownerKind(OwnerKind.TENANT);
            case OWNER_KIND_SERVICE -> b.ownerKind(OwnerKind.SERVICE);
            case OWNER_KIND_NODE -> b.ownerKind(OwnerKind.NODE);
            case OWNER_KIND_UNSPECIFIED -> {
            }
            default -> throw new InvalidInputException("filter.owner_kind", "must be tenant, service or node");
        }
        if (filter.hasOwnerId()) {
            b.ownerId(filter.getOwnerId());
        }
        b.type(keyType("filter.type", filter.getType(), false));
        b.status(keyStatus("filter.status", filter.getStatus(), false));
        if (filter.hasRegion()) {
            b.region(filter.getRegion());
        }
        b.tags(filter.getTagsMap());
        if (filter.getPageSize() != 0) {
            b.pageSize(filter.getPageSize());
        }
        if (!filter.getCursor().isEmpty()) {
            b.cursor(filter.getCursor());
        }
        return b.build();
    }

    static Instant instant(Timestamp t) {
        try {
            return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
        } catch (RuntimeException e) {
            throw new InvalidInputException("expiry", "is not a valid time");
        }
    }

    // ---- to the wire

    static org.openkcm.keystore.grpc.v1.KeyId keyId(KeyId id) {
        return org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName(id.name()).setVersion(id.version()).build();
    }

    static org.openkcm.keystore.grpc.v1.KeyType keyType(KeyType type) {
        return switch (type) {
            case L2 -> org.openkcm.keystore.grpc.v1.KeyType.KEY_TYPE_L2;
            case L3 -> org.openkcm.keystore.grpc.v1.KeyType.KEY_TYPE_L3;
            case L4 -> org.openkcm.keystore.grpc.v1.KeyType.KEY_TYPE_L4;
        };
    }

    static org.openkcm.keystore.grpc.v1.KeyStatus keyStatus(KeyStatus status) {
        return switch (status) {
            case ACTIVE -> org.openkcm.keystore.grpc.v1.KeyStatus.KEY_STATUS_ACTIVE;
            case DEPRECATED -> org.openkcm.keystore.grpc.v1.KeyStatus.KEY_STATUS_DEPRECATED;
            case RETIRED -> org.openkcm.keystore.grpc.v1.KeyStatus.KEY_STATUS_RETIRED;
        };
    }

    static org.openkcm.keystore.grpc.v1.Owner owner(Owner owner) {
        org.openkcm.keystore.grpc.v1.OwnerKind kind = switch (owner.kind()) {
            case TENANT -> org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_TENANT;
            case SERVICE -> org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_SERVICE;
            case NODE -> org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_NODE;
        };
        return org.openkcm.keystore.grpc.v1.Owner.newBuilder().setKind(kind).setId(owner.id()).build();
    }

    static Timestamp timestamp(Instant instant) {
        return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
    }

    static com.google.protobuf.Duration duration(Duration d) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }

    static org.openkcm.keystore.grpc.v1.KeyMetadata metadata(KeyMetadata m) {
        org.openkcm.keystore.grpc.v1.KeyMetadata.Builder b = org.openkcm.keystore.grpc.v1.KeyMetadata.newBuilder()
                .setId(keyId(m.id())).setType(keyType(m.type())).setAlgorithm(m.algorithm()).setKeySize(m.keySize())
                .setStatus(keyStatus(m.status())).setOwner(owner(m.owner())).putAllTags(m.tags())
                .setCreated(timestamp(m.created())).setUpdated(timestamp(m.updated())).setRevision(m.revision());
        m.expiry().ifPresent(e -> b.setExpiry(timestamp(e)));
        m.region().ifPresent(b::setRegion);
        m.parent().ifPresent(p -> b.setParent(keyId(p)));
        m.lifecycleMac().ifPresent(b::setLifecycleMac);
        return b.build();
    }

    static org.openkcm.keystore.grpc.v1.BackendStatus backend(BackendStatus s) {
        org.openkcm.keystore.grpc.v1.BackendStatus.State state = switch (s.state()) {
            case ACTIVE -> org.openkcm.keystore.grpc.v1.BackendStatus.State.STATE_ACTIVE;
            case SHADOWED -> org.openkcm.keystore.grpc.v1.BackendStatus.State.STATE_SHADOWED;
            case DOWN -> org.openkcm.keystore.grpc.v1.BackendStatus.State.STATE_DOWN;
            case UNAVAILABLE -> org.openkcm.keystore.grpc.v1.BackendStatus.State.STATE_UNAVAILABLE;
        };
        org.openkcm.keystore.grpc.v1.BackendStatus.Builder b = org.openkcm.keystore.grpc.v1.BackendStatus.newBuilder()
                .setName(s.name()).setState(state).setServiceId(s.serviceId()).setRanking(s.ranking())
                .setBundleSymbolicName(s.bundleSymbolicName()).setBundleVersion(s.bundleVersion())
                .addAllTiers(s.tiers()).addAllRegions(s.regions()).putAllProperties(s.properties())
                .setConsecutiveFailures(s.consecutiveFailures());
        s.lastReason().ifPresent(b::setLastReason);
        s.lastProbe().ifPresent(t -> b.setLastProbe(timestamp(t)));
        s.lastLatency().ifPresent(d -> b.setLastLatency(duration(d)));
        return b.build();
    }

    static org.openkcm.keystore.grpc.v1.Route route(RouteDescription r) {
        org.openkcm.keystore.grpc.v1.Route.Builder b = org.openkcm.keystore.grpc.v1.Route.newBuilder()
                .setName(r.name()).addAllTiers(r.tiers()).setPriority(r.priority()).setSpecificity(r.specificity())
                .setTarget(r.target()).setInForce(r.inForce());
        r.ownerKind().ifPresent(b::setOwnerKind);
        r.ownerId().ifPresent(b::setOwnerId);
        r.ownerIdPrefix().ifPresent(b::setOwnerIdPrefix);
        r.region().ifPresent(b::setRegion);
        r.error().ifPresent(b::setError);
        return b.build();
    }

    static org.openkcm.keystore.grpc.v1.CacheStatistics cacheStatistics(CacheStatistics c) {
        return org.openkcm.keystore.grpc.v1.CacheStatistics.newBuilder()
                .setLayer(c.layer() == CacheStatistics.Layer.RECORDS
                        ? org.openkcm.keystore.grpc.v1.CacheStatistics.Layer.LAYER_RECORDS
                        : org.openkcm.keystore.grpc.v1.CacheStatistics.Layer.LAYER_MATERIAL)
                .setTier(keyType(c.tier())).setHits(c.hits()).setMisses(c.misses()).setLoads(c.loads())
                .setEvictions(c.evictions()).setInvalidations(c.invalidations()).setSize(c.size()).build();
    }

    static List<KeyFailure> failures(Map<KeyId, String> failed) {
        return failed.entrySet().stream()
                .map(e -> KeyFailure.newBuilder().setId(keyId(e.getKey())).setReason(e.getValue()).build()).toList();
    }

    static List<org.openkcm.keystore.grpc.v1.KeyId> keyIds(List<KeyId> ids) {
        return ids.stream().map(ProtoConversion::keyId).toList();
    }

    static org.openkcm.keystore.grpc.v1.RewrapReport rewrap(RewrapReport r) {
        return org.openkcm.keystore.grpc.v1.RewrapReport.newBuilder().setKekId(r.kekId())
                .setKekVersion(r.kekVersion()).setExamined(r.examined()).setRewrapped(r.rewrapped())
                .setAlreadyCurrent(r.alreadyCurrent()).setVanished(r.vanished()).addAllFailed(failures(r.failed()))
                .build();
    }

    static org.openkcm.keystore.grpc.v1.ReconciliationReport reconciliation(ReconciliationReport r) {
        return org.openkcm.keystore.grpc.v1.ReconciliationReport.newBuilder().setBackend(r.backend())
                .setHeld(r.held()).setKnown(r.known()).addAllOrphans(keyIds(r.orphans()))
                .addAllRecent(keyIds(r.recent())).addAllInDoubt(keyIds(r.inDoubt()))
                .addAllMissing(keyIds(r.missing())).addAllRemoved(keyIds(r.removed()))
                .addAllFailures(failures(r.failures())).addAllForgotten(keyIds(r.forgotten()))
                .addAllUnknown(keyIds(r.unknown()))
                .addAllFindings(r.ids().entrySet().stream().map(e -> org.openkcm.keystore.grpc.v1.ReconcileFinding.newBuilder()
                        .setId(e.getValue()).setKey(keyId(e.getKey())).build()).toList())
                .build();
    }

    static org.openkcm.keystore.grpc.v1.MigrationReport migration(MigrationReport r) {
        return org.openkcm.keystore.grpc.v1.MigrationReport.newBuilder().setExamined(r.examined())
                .setMoved(r.moved()).setInPlace(r.inPlace()).addAllFailed(failures(r.failed()))
                .setFinished(r.finished()).build();
    }
}
