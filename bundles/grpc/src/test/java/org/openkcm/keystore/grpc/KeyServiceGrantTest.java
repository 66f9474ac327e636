package org.openkcm.keystore.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import javax.security.auth.x500.X500Principal;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.openkcm.keystore.audit.AuditRecord;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.grpc.v1.DeleteRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialResponse;
import org.openkcm.keystore.grpc.v1.GetMetadataRequest;
import org.openkcm.keystore.grpc.v1.ListRequest;
import org.openkcm.keystore.grpc.v1.RotateRequest;
import org.openkcm.keystore.grpc.v1.SetExpiryRequest;
import org.openkcm.keystore.grpc.v1.SetStatusRequest;
import org.openkcm.keystore.grpc.v1.SetTagsRequest;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * A caller without a grant for a key gets the same PERMISSION_DENIED whether or not the key
 * exists, on every call that names a key, and nothing changes.
 */
class KeyServiceGrantTest {
    private static final X500Principal APP = new X500Principal("CN=orders-app,O=example");
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    private final KeysInMemory keys = new KeysInMemory();
    private final List<AuditRecord> audited = new ArrayList<>();
    private final KeyServiceEndpoint endpoint = new KeyServiceEndpoint(keys,
            new GrpcAudit(() -> audited::add, Clock.fixed(NOW, ZoneOffset.UTC)));

    /** Granted everything on tenant acme only; the keys below belong to tenant beta. */
    private final Caller acmeOnly = new Caller(APP, List.of(ClientGrant.parse("g", "CN=orders-app,O=example", "",
            new String[] {"tenant:acme"}, new String[] {"L2", "L3", "L4"},
            new String[] {"material", "metadata", "lifecycle"})));
    private final Caller everyOwner = new Caller(APP, List.of(ClientGrant.parse("g", "CN=orders-app,O=example", "",
            new String[] {"*"}, new String[] {"L2", "L3", "L4"}, new String[] {"metadata"})));

    KeyServiceGrantTest() {
        keys.put(KeyMetadata.builder().id(KeyId.of("beta-key", 1)).type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("beta")).created(NOW).updated(NOW).build());
    }

    @Test
    void anExistingAndAMissingKeyAreRefusedAlikeOnEveryCallThatNamesAKey() {
        Map<String, KeyMetadata> before = keys.snapshot();
        for (String name : List.of("beta-key", "beta-nosuch")) {
            org.openkcm.keystore.grpc.v1.KeyId id = org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName(name)
                    .setVersion(1).build();
            Map<String, Status> answers = new TreeMap<>();
            answers.put("get", call(acmeOnly, o -> endpoint.getMaterial(
                    GetMaterialRequest.newBuilder().setId(id).build(), o)));
            answers.put("metadata", call(acmeOnly, o -> endpoint.getMetadata(
                    GetMetadataRequest.newBuilder().setId(id).build(), o)));
            answers.put("rotate", call(acmeOnly, o -> endpoint.rotate(
                    RotateRequest.newBuilder().setName(name).build(), o)));
            answers.put("status", call(acmeOnly, o -> endpoint.setStatus(SetStatusRequest.newBuilder().setId(id)
                    .setStatus(org.openkcm.keystore.grpc.v1.KeyStatus.KEY_STATUS_DEPRECATED)
                    .setExpectedRevision(1).build(), o)));
            answers.put("expiry", call(acmeOnly, o -> endpoint.setExpiry(SetExpiryRequest.newBuilder().setId(id)
                    .setExpectedRevision(1).build(), o)));
            answers.put("tags", call(acmeOnly, o -> endpoint.setTags(SetTagsRequest.newBuilder().setId(id)
                    .putTags("x", "y").setExpectedRevision(1).build(), o)));
            answers.put("delete", call(acmeOnly, o -> endpoint.delete(
                    DeleteRequest.newBuilder().setId(id).build(), o)));
            answers.put("delete-all", call(acmeOnly, o -> endpoint.delete(
                    DeleteRequest.newBuilder().setAllVersionsOf(name).build(), o)));
            answers.forEach((rpc, status) -> {
                assertNotNull(status, rpc + " on " + name + " answered instead of refusing");
                assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), rpc + " on " + name);
                String target = rpc.equals("rotate") || rpc.equals("delete-all") ? name : name + ":1";
                assertEquals(refusal(rpc, target), status.getDescription(), rpc + " on " + name);
            });
        }
        assertEquals(before, keys.snapshot(), "nothing changed");
    }

    private static String refusal(String rpc, String target) {
        String operation = switch (rpc) {
            case "get" -> OperationClass.MATERIAL.label();
            case "metadata" -> OperationClass.METADATA.label();
            default -> OperationClass.LIFECYCLE.label();
        };
        return "not granted: " + operation + " on key " + target + " for " + APP.getName() + " (or no such key)";
    }

    @Test
    void aCallerGrantedEveryOwnerStillLearnsThatAKeyIsMissing() {
        Status missing = call(everyOwner, o -> endpoint.getMetadata(GetMetadataRequest.newBuilder()
                .setId(org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName("beta-nosuch").setVersion(1)).build(),
                o));
        assertEquals(Status.Code.NOT_FOUND, missing.getCode());
        assertNull(call(everyOwner, o -> endpoint.getMetadata(GetMetadataRequest.newBuilder()
                .setId(org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName("beta-key").setVersion(1)).build(),
                o)), "an existing key is answered");
    }

    @Test
    void aCallerGrantedMaterialOnEveryKeyIsServedWithoutALookUpAndLearnsThatAKeyIsMissing() {
        Caller everyKeysMaterial = new Caller(APP, List.of(ClientGrant.parse("g", "CN=orders-app,O=example", "",
                new String[] {"*"}, new String[] {"L2", "L3", "L4"}, new String[] {"material"})));
        assertNull(call(everyKeysMaterial, o -> endpoint.getMaterial(GetMaterialRequest.newBuilder()
                .setId(org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName("beta-key").setVersion(1)).build(),
                o)));
        assertEquals(List.of("get beta-key:1"), keys.reads, "the key is read once, by get");
        Status missing = call(everyKeysMaterial, o -> endpoint.getMaterial(GetMaterialRequest.newBuilder()
                .setId(org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName("beta-nosuch").setVersion(1)).build(),
                o));
        assertEquals(Status.Code.NOT_FOUND, missing.getCode());

        keys.reads.clear();
        Status refused = call(acmeOnly, o -> endpoint.getMaterial(GetMaterialRequest.newBuilder()
                .setId(org.openkcm.keystore.grpc.v1.KeyId.newBuilder().setName("beta-key").setVersion(1)).build(),
                o));
        assertEquals(Status.Code.PERMISSION_DENIED, refused.getCode());
        assertEquals(List.of("metadata beta-key:1"), keys.reads, "a scoped caller's grant is checked on the owner first");
        assertEquals(List.of("started", "ok", "started", "error", "started", "denied"),
                audited.stream().map(AuditRecord::outcome).toList());
    }

    @Test
    void aReadWhoseOutcomeCannotBeAuditedAnswersUnavailableAndHandsOutNoMaterial() {
        List<String> outcomes = new ArrayList<>();
        KeyServiceEndpoint failingOutcome = new KeyServiceEndpoint(keys, new GrpcAudit(() -> new AuditLog() {
            @Override
            public void record(AuditRecord r) {
                throw new AssertionError("a read begins its records with beginRead");
            }

            @Override
            public Entry beginRead(AuditRecord started) {
                outcomes.add(started.outcome());
                return outcome -> {
                    outcomes.add(outcome.outcome());
                    throw new UnavailableException("disk gone");
                };
            }
        }, Clock.fixed(NOW, ZoneOffset.UTC)));
        Caller admin = new Caller(APP, List.of(ClientGrant.parse("g", "CN=orders-app,O=example", "",
                new String[] {"*"}, new String[] {"L2", "L3", "L4"}, new String[] {"material"})));
        List<Object> answers = new ArrayList<>();
        AtomicReference<Status> failure = new AtomicReference<>();
        Context.current().withValue(Caller.CONTEXT_KEY, admin).run(() -> failingOutcome.getMaterial(
                GetMaterialRequest.newBuilder().setId(org.openkcm.keystore.grpc.v1.KeyId.newBuilder()
                        .setName("beta-key").setVersion(1)).build(), new StreamObserver<>() {
                            @Override
                            public void onNext(GetMaterialResponse value) {
                                answers.add(value);
                            }

                            @Override
                            public void onError(Throwable t) {
                                failure.set(Status.fromThrowable(t));
                            }

                            @Override
                            public void onCompleted() {
                            }
                        }));
        assertEquals(Status.Code.UNAVAILABLE, failure.get().getCode());
        assertEquals(List.of(), answers, "no material left");
        assertEquals(List.of("started", "ok"), outcomes);
    }

    @Test
    void aListFilteredOnAnOwnerTheCallerMayNotSeeIsRefused() {
        Status refused = call(acmeOnly, o -> endpoint.list(ListRequest.newBuilder().setFilter(
                org.openkcm.keystore.grpc.v1.KeyFilter.newBuilder()
                        .setOwnerKind(org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_TENANT).setOwnerId("beta"))
                .build(), o));
        assertNotNull(refused, "answered with a page instead of refusing");
        assertEquals(Status.Code.PERMISSION_DENIED, refused.getCode());
        assertEquals("not granted: " + OperationClass.METADATA.label() + " on keys of owner id beta for "
                + APP.getName(), refused.getDescription());
        assertNull(call(acmeOnly, o -> endpoint.list(ListRequest.newBuilder().setFilter(
                org.openkcm.keystore.grpc.v1.KeyFilter.newBuilder()
                        .setOwnerKind(org.openkcm.keystore.grpc.v1.OwnerKind.OWNER_KIND_TENANT).setOwnerId("acme"))
                .build(), o)), "its own owner is listed");
    }

    /** Runs one call as the caller: null if it answered, else the status it failed with. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    private static Status call(Caller caller, Consumer<StreamObserver> rpc) {
        AtomicReference<Status> failure = new AtomicReference<>();
        StreamObserver<Object> observer = new StreamObserver<>() {
            @Override
            public void onNext(Object value) {
            }

            @Override
            public void onError(Throwable t) {
                failure.set(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
            }
        };
        Context.current().withValue(Caller.CONTEXT_KEY, caller).run(() -> rpc.accept(observer));
        return failure.get();
    }

    /** The metadata half of a keystore, enough for the grant checks; anything that would change a key records it. */
    private static final class KeysInMemory implements KeystoreOperations {
        private final TreeMap<KeyId, KeyMetadata> keys = new TreeMap<>();
        /** The reads made, in order ("metadata k:1", "get k:1"). */
        final List<String> reads = new ArrayList<>();

        void put(KeyMetadata key) {
            keys.put(key.id(), key);
        }

        Map<String, KeyMetadata> snapshot() {
            Map<String, KeyMetadata> copy = new TreeMap<>();
            keys.forEach((id, key) -> copy.put(id.toString(), key));
            return copy;
        }

        @Override
        public KeyMetadata metadata(KeyId id) {
            reads.add("metadata " + id);
            return find(id);
        }

        private KeyMetadata find(KeyId id) {
            KeyMetadata key = keys.get(id);
            if (key == null) {
                throw new KeyNotFoundException(id);
            }
            return key;
        }

        @Override
        public KeyPage list(KeyFilter filter) {
            return KeyPage.select(keys.values(), filter);
        }

        @Override
        public KeyMaterial get(KeyId id) {
            reads.add("get " + id);
            find(id);
            return KeyMaterial.wrap(new byte[32]);
        }

        @Override
        public KeyMetadata generate(KeySpec spec) {
            throw new UnsupportedOperationException("not used");
        }

        @Override
        public KeyMetadata importKey(KeySpec spec, KeyMaterial material) {
            throw new UnsupportedOperationException("not used");
        }

        @Override
        public KeyMetadata rotate(String name) {
            keys.clear();
            return null;
        }

        @Override
        public KeyMetadata changeStatus(KeyId id, KeyStatus status, long expectedRevision) {
            keys.remove(id);
            return null;
        }

        @Override
        public KeyMetadata changeExpiry(KeyId id, Instant expiry, long expectedRevision) {
            keys.remove(id);
            return null;
        }

        @Override
        public KeyMetadata changeTags(KeyId id, Map<String, String> tags, long expectedRevision) {
            keys.remove(id);
            return null;
        }

        @Override
        public boolean delete(KeyId id) {
            return keys.remove(id) != null;
        }

        @Override
        public int deleteAllVersions(String name) {
            keys.clear();
            return 1;
        }
    }
}
