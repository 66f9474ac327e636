package org.openkcm.keystore.plugins;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.plugins.proto.v1.DeleteKeyRequest;
import org.openkcm.keystore.plugins.proto.v1.HealthRequest;
import org.openkcm.keystore.plugins.proto.v1.HealthResponse;
import org.openkcm.keystore.plugins.proto.v1.KeystorePluginGrpc.KeystorePluginBlockingStub;
import org.openkcm.keystore.plugins.proto.v1.ListKeysRequest;
import org.openkcm.keystore.plugins.proto.v1.ListKeysResponse;
import org.openkcm.keystore.plugins.proto.v1.RetrieveKeyRequest;
import org.openkcm.keystore.plugins.proto.v1.RetrieveKeyResponse;
import org.openkcm.keystore.plugins.proto.v1.RewrapKeyRequest;
import org.openkcm.keystore.plugins.proto.v1.StoreKeyRequest;
import org.openkcm.keystore.plugins.proto.v1.UpdateKeyMetadataRequest;

import com.google.protobuf.ByteString;

import io.grpc.StatusRuntimeException;

/**
 * The {@link Keystore} of one plugin: each call checked as the contract says, sent to the running
 * plugin with the configured deadline, and its answer or status mapped back. While the plugin is
 * down every call fails at once as unavailable; {@link #health()} is down with the reason.
 * <p>
 * A malformed response is also reported by the next health probe, once, as down with its line: the
 * router keeps a probe's reason as the backend's last failure (keystore:backends, LAST FAILURE)
 * after later probes pass, and one such probe does not take the backend down.
 */
final class PluginKeystore implements Keystore {
    private final PluginSupervisor supervisor;
    private final PluginLog log;
    /** The malformed response the next probe reports, if any since the last probe. */
    private final AtomicReference<String> malformed = new AtomicReference<>();
    /** The last malformed-response line logged: the same line again is not logged again. */
    private final AtomicReference<String> lastLogged = new AtomicReference<>();

    PluginKeystore(PluginSupervisor supervisor, PluginLog log) {
        this.supervisor = supervisor;
        this.log = log;
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        Validation.storeRequest(id, sealed, metadata);
        PluginSettings settings = supervisor.settings();
        if (!settings.tiers().contains(metadata.type())) {
            throw new PolicyRefusedException(id, "the plugin keystore '" + settings.name() + "' does not accept tier "
                    + metadata.type() + " (keystore.tiers=" + settings.tiers() + ")");
        }
        call(id, stub -> stub.storeKey(StoreKeyRequest.newBuilder().setId(ProtoMapping.id(id))
                .setSealed(ByteString.copyFrom(sealed.bytes())).setMetadata(ProtoMapping.metadata(metadata)).build()));
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        Validation.required("keyId", id);
        RetrieveKeyResponse r = call(id, stub -> stub.retrieveKey(RetrieveKeyRequest.newBuilder().setId(ProtoMapping.id(id)).build()));
        return answer(id, () -> StoredKey.of(SealedKey.of(r.getSealed().toByteArray()),
                ofKey(id, ProtoMapping.metadata(r.getMetadata()))));
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        Validation.required("keyId", id);
        Validation.required("metadata", metadata);
        if (!metadata.id().equals(id)) {
            throw new org.openkcm.keystore.api.InvalidInputException("metadata.id", "must equal the key id it is stored under", id);
        }
        var r = call(id, stub -> stub.updateKeyMetadata(UpdateKeyMetadataRequest.newBuilder().setId(ProtoMapping.id(id))
                .setMetadata(ProtoMapping.metadata(metadata)).build()));
        return answer(id, () -> ofKey(id, ProtoMapping.metadata(r.getMetadata())));
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        Validation.required("keyId", id);
        Validation.required("sealed", sealed);
        call(id, stub -> stub.rewrapKey(RewrapKeyRequest.newBuilder().setId(ProtoMapping.id(id))
                .setSealed(ByteString.copyFrom(sealed.bytes())).setExpectedRevision(expectedRevision).build()));
    }

    @Override
    public boolean deleteKey(KeyId id) {
        Validation.required("keyId", id);
        return call(id, stub -> stub.deleteKey(DeleteKeyRequest.newBuilder().setId(ProtoMapping.id(id)).build())).getDeleted();
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        Validation.required("filter", filter);
        ListKeysResponse r = call(null, stub -> stub.listKeys(ListKeysRequest.newBuilder()
                .setFilter(ProtoMapping.filter(filter)).build()));
        return answer(null, () -> {
            List<KeyMetadata> keys = new ArrayList<>(r.getKeysCount());
            r.getKeysList().forEach(k -> keys.add(ProtoMapping.metadata(k)));
            return KeyPage.of(keys, r.hasNextCursor() ? Validation.cursor(r.getNextCursor()) : null);
        });
    }

    @Override
    public KeystoreHealth health() {
        long start = System.nanoTime();
        String broken = malformed.getAndSet(null);
        if (broken != null) {
            return KeystoreHealth.down(Duration.ofNanos(System.nanoTime() - start), broken);
        }
        PluginSettings settings = supervisor.settings();
        PluginProcess process = enterCurrent();
        if (process == null) {
            return KeystoreHealth.down(Duration.ofNanos(System.nanoTime() - start), supervisor.downReason());
        }
        try {
            HealthResponse r = process.stub()
                    .withDeadlineAfter(Math.min(settings.callTimeout().toMillis(),
                            KeystoreHealth.MAX_PROBE_TIME.toMillis()), TimeUnit.MILLISECONDS)
                    .health(HealthRequest.getDefaultInstance());
            Duration latency = Duration.ofNanos(System.nanoTime() - start);
            return r.getUp() ? KeystoreHealth.up(latency)
                    : KeystoreHealth.down(latency, "plugin " + settings.name() + ": "
                            + (r.getReason().isEmpty() ? "reports itself down" : r.getReason()));
        } catch (StatusRuntimeException e) {
            return KeystoreHealth.down(Duration.ofNanos(System.nanoTime() - start),
                    "plugin " + settings.name() + ": " + e.getStatus().getCode() + " " + e.getStatus().getDescription());
        } finally {
            process.leave();
        }
    }

    /** The current process with this call counted in ({@link PluginProcess#leave()} after), or null while down. */
    private PluginProcess enterCurrent() {
        while (true) {
            PluginProcess process = supervisor.current();
            if (process == null || process.enter()) {
                return process;
            }
            // swapped out just now: its successor is already current
            Thread.onSpinWait();
        }
    }

    private <T> T call(KeyId id, Function<KeystorePluginBlockingStub, T> rpc) {
        PluginSettings settings = supervisor.settings();
        PluginProcess process = enterCurrent();
        if (process == null) {
            throw new UnavailableException(supervisor.downReason(), id, null);
        }
        try {
            return rpc.apply(process.stub().withDeadlineAfter(settings.callTimeout().toMillis(), TimeUnit.MILLISECONDS));
        } catch (StatusRuntimeException e) {
            throw ErrorMapping.toKeystoreException(settings.name(), id, e);
        } finally {
            process.leave();
        }
    }

    /**
     * A response that breaks the api's rules is the plugin's fault: unavailable, never passed on,
     * and logged, since it points at a broken plugin rather than at the caller.
     */
    private <T> T answer(KeyId id, java.util.function.Supplier<T> decode) {
        try {
            return decode.get();
        } catch (KeystoreException | IllegalArgumentException | NullPointerException e) {
            String message = "plugin " + supervisor.settings().name() + " sent a malformed response"
                    + (id == null ? "" : " for key " + id) + ": " + e.getMessage();
            malformed.set(message);
            if (!message.equals(lastLogged.getAndSet(message))) {
                log.warn(message);
            }
            throw new UnavailableException(message, id, e);
        }
    }

    /** The metadata a plugin returned for {@code id}, which must be that key's. */
    private static KeyMetadata ofKey(KeyId id, KeyMetadata metadata) {
        if (!metadata.id().equals(id)) {
            throw new IllegalArgumentException("it holds the metadata of key " + metadata.id());
        }
        return metadata;
    }
}
