package org.openkcm.keystore.grpc;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.grpc.v1.DeleteRequest;
import org.openkcm.keystore.grpc.v1.GenerateRequest;
import org.openkcm.keystore.grpc.v1.GetMaterialRequest;
import org.openkcm.keystore.grpc.v1.GetMetadataRequest;
import org.openkcm.keystore.grpc.v1.ImportRequest;
import org.openkcm.keystore.grpc.v1.KeyServiceGrpc;
import org.openkcm.keystore.grpc.v1.ListRequest;
import org.openkcm.keystore.grpc.v1.RotateRequest;
import org.openkcm.keystore.grpc.v1.SetExpiryRequest;
import org.openkcm.keystore.grpc.v1.SetStatusRequest;
import org.openkcm.keystore.grpc.v1.SetTagsRequest;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;

import io.grpc.ManagedChannel;

/**
 * {@link KeystoreOperations} of a running daemon, over its KeyService: each method is one call,
 * with what the daemon answers (or refuses) returned as the api's values (or exceptions). The
 * daemon checks, changes and audits; this side only carries.
 */
final class RemoteOperations implements KeystoreOperations {
    private final DaemonChannel daemon;
    private final ListedLocations locations;

    RemoteOperations(DaemonChannel daemon, ListedLocations locations) {
        this.daemon = daemon;
        this.locations = locations;
    }

    /** A stub for one call; any call but a listing makes the locations of the last listing stale. */
    private KeyServiceGrpc.KeyServiceBlockingStub keys(ManagedChannel channel) {
        locations.forget();
        return KeyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(daemon.timeoutMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public KeyMetadata generate(KeySpec spec) {
        return daemon.call(c -> ClientConversion.metadata(
                keys(c).generate(GenerateRequest.newBuilder().setSpec(ClientConversion.keySpec(spec)).build())));
    }

    @Override
    public KeyMetadata importKey(KeySpec spec, KeyMaterial material) {
        byte[] bytes = material.copyBytes();
        try {
            // Unshared: the copy goes to the wire and is wiped once the call is done.
            ImportRequest request = ImportRequest.newBuilder().setSpec(ClientConversion.keySpec(spec))
                    .setMaterial(UnsafeByteOperations.unsafeWrap(bytes)).build();
            return daemon.call(c -> ClientConversion.metadata(keys(c).import_(request)));
        } finally {
            java.util.Arrays.fill(bytes, (byte) 0);
        }
    }

    @Override
    public KeyMaterial get(KeyId id) {
        ByteString material = daemon.call(c -> keys(c)
                .getMaterial(GetMaterialRequest.newBuilder().setId(ProtoConversion.keyId(id)).build()).getMaterial());
        return KeyMaterial.wrap(material.toByteArray());
    }

    @Override
    public KeyMetadata metadata(KeyId id) {
        return daemon.call(c -> ClientConversion.metadata(
                keys(c).getMetadata(GetMetadataRequest.newBuilder().setId(ProtoConversion.keyId(id)).build())));
    }

    @Override
    public KeyMetadata rotate(String name) {
        return daemon.call(c -> ClientConversion.metadata(keys(c).rotate(RotateRequest.newBuilder().setName(name).build())));
    }

    @Override
    public KeyMetadata changeStatus(KeyId id, KeyStatus status, long expectedRevision) {
        return daemon.call(c -> ClientConversion.metadata(keys(c).setStatus(SetStatusRequest.newBuilder()
                .setId(ProtoConversion.keyId(id)).setStatus(ProtoConversion.keyStatus(status))
                .setExpectedRevision(expectedRevision).build())));
    }

    @Override
    public KeyMetadata changeExpiry(KeyId id, Instant expiry, long expectedRevision) {
        SetExpiryRequest.Builder request = SetExpiryRequest.newBuilder().setId(ProtoConversion.keyId(id))
                .setExpectedRevision(expectedRevision);
        if (expiry != null) {
            request.setExpiry(ProtoConversion.timestamp(expiry));
        }
        return daemon.call(c -> ClientConversion.metadata(keys(c).setExpiry(request.build())));
    }

    @Override
    public KeyMetadata changeTags(KeyId id, Map<String, String> tags, long expectedRevision) {
        return daemon.call(c -> ClientConversion.metadata(keys(c).setTags(SetTagsRequest.newBuilder()
                .setId(ProtoConversion.keyId(id)).putAllTags(tags).setExpectedRevision(expectedRevision).build())));
    }

    @Override
    public boolean delete(KeyId id) {
        return daemon.call(c -> keys(c).delete(DeleteRequest.newBuilder().setId(ProtoConversion.keyId(id)).build())
                .getDeleted()) > 0;
    }

    @Override
    public int deleteAllVersions(String name) {
        return daemon.call(c -> keys(c).delete(DeleteRequest.newBuilder().setAllVersionsOf(name).build()).getDeleted());
    }

    @Override
    public KeyPage list(KeyFilter filter) {
        KeyPage page = daemon.call(c -> ClientConversion.page(
                keys(c).list(ListRequest.newBuilder().setFilter(ClientConversion.keyFilter(filter)).build())));
        locations.listed(page.keys().stream().map(KeyMetadata::id).toList());
        return page;
    }
}
