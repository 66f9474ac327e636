package org.openkcm.keystore.grpc;

import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The one place where a failure becomes a gRPC status. Keystore exceptions already keep material
 * out of their messages (they name fields, rules and key ids only), so their messages are passed
 * on; any other failure is reported as INTERNAL without its message, which might carry anything.
 */
final class StatusMapping {
    private StatusMapping() {
    }

    static StatusRuntimeException toStatus(Throwable failure) {
        if (failure instanceof StatusRuntimeException already) {
            return already;
        }
        return status(failure).asRuntimeException();
    }

    static Status status(Throwable failure) {
        if (failure instanceof KeyNotFoundException) {
            return Status.NOT_FOUND.withDescription(failure.getMessage());
        }
        if (failure instanceof KeyExistsException) {
            return Status.ALREADY_EXISTS.withDescription(failure.getMessage());
        }
        if (failure instanceof ConflictException) {
            return Status.ABORTED.withDescription(failure.getMessage());
        }
        if (failure instanceof IntegrityException) {
            return Status.DATA_LOSS.withDescription(failure.getMessage());
        }
        if (failure instanceof UnavailableException) {
            return Status.UNAVAILABLE.withDescription(failure.getMessage());
        }
        if (failure instanceof InvalidInputException invalid) {
            // The api's message is "invalid <field>[ (key ...)]: <rule>": it names the field, never the value.
            return Status.INVALID_ARGUMENT.withDescription(invalid.getMessage());
        }
        if (failure instanceof PolicyRefusedException) {
            return Status.FAILED_PRECONDITION.withDescription(failure.getMessage());
        }
        if (failure instanceof NotGrantedException) {
            return Status.PERMISSION_DENIED.withDescription(failure.getMessage());
        }
        if (failure instanceof NotAuthenticatedException) {
            return Status.UNAUTHENTICATED.withDescription(failure.getMessage());
        }
        if (failure instanceof KeystoreException) {
            return Status.INTERNAL.withDescription(failure.getMessage());
        }
        return Status.INTERNAL.withDescription("internal error (" + failure.getClass().getSimpleName() + ")");
    }

    /** The caller's grants do not cover the call; nothing was changed. */
    static final class NotGrantedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotGrantedException(String message) {
            super(message);
        }
    }

    /** The call carries no valid client certificate. */
    static final class NotAuthenticatedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotAuthenticatedException(String message) {
            super(message);
        }
    }
}
