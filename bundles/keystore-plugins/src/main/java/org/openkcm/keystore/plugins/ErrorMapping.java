package org.openkcm.keystore.plugins;

import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.plugins.proto.v1.KeystoreError;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

/** A plugin's gRPC status as the api's exception of the same meaning (see the contract's table). */
final class ErrorMapping {
    private ErrorMapping() {
    }

    static KeystoreException toKeystoreException(String plugin, KeyId id, StatusRuntimeException e) {
        Status status = e.getStatus();
        KeystoreError detail = detail(e);
        String description = status.getDescription() == null ? status.getCode().toString() : status.getDescription();
        return switch (status.getCode()) {
            case NOT_FOUND -> id == null ? new UnavailableException("plugin " + plugin + ": " + description)
                    : new KeyNotFoundException(id);
            case ALREADY_EXISTS -> id == null ? new UnavailableException("plugin " + plugin + ": " + description)
                    : new KeyExistsException(id);
            case ABORTED -> new ConflictException(id, detail.getExpectedRevision(), detail.getStoredRevision());
            case INVALID_ARGUMENT -> new InvalidInputException(detail.getField().isEmpty() ? "request" : detail.getField(),
                    detail.getRule().isEmpty() ? description : detail.getRule(), id);
            case PERMISSION_DENIED -> new PolicyRefusedException(id, "plugin " + plugin + ": " + description);
            case DATA_LOSS -> new IntegrityException(id, "plugin " + plugin + ": " + description);
            default -> new UnavailableException("plugin " + plugin + " answered " + status.getCode() + ": " + description,
                    id, e);
        };
    }

    private static KeystoreError detail(StatusRuntimeException e) {
        com.google.rpc.Status rich = StatusProto.fromThrowable(e);
        if (rich != null) {
            for (Any any : rich.getDetailsList()) {
                if (any.is(KeystoreError.class)) {
                    try {
                        return any.unpack(KeystoreError.class);
                    } catch (InvalidProtocolBufferException malformed) {
                        break;
                    }
                }
            }
        }
        return KeystoreError.getDefaultInstance();
    }
}
