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
 * The client side of {@link StatusMapping}: a status the daemon answered becomes the api exception
 * its server side was made from, carrying the daemon's message unchanged, so a command run through
 * {@link RemoteKeystore} fails with the same type and the same one-line message as in the daemon's
 * own shell. A status that no keystore exception maps to (the transport's, a refusal of the
 * caller's certificate or grants) is a {@link RemoteRefusalException} or an {@link UnavailableException}.
 */
final class RemoteFailures {
    private RemoteFailures() {
    }

    /**
     * @param target the daemon's address, named in a transport failure
     */
    static RuntimeException of(StatusRuntimeException e, String target) {
        Status status = e.getStatus();
        String message = status.getDescription() == null ? status.getCode().toString() : status.getDescription();
        return switch (status.getCode()) {
            case NOT_FOUND -> new NotFound(message);
            case ALREADY_EXISTS -> new Exists(message);
            case ABORTED -> new Conflict(message);
            case DATA_LOSS -> new Integrity(message);
            case INVALID_ARGUMENT -> new Invalid(message);
            case FAILED_PRECONDITION -> new Refused(message);
            case UNAVAILABLE -> new Unavailable(message.startsWith("unavailable") ? message
                    : "unavailable: the keystore daemon at " + target + " did not answer (" + transport(e) + ")");
            case DEADLINE_EXCEEDED -> new Unavailable("unavailable: the keystore daemon at " + target
                    + " did not answer in time (" + message + ")");
            case RESOURCE_EXHAUSTED -> new Unavailable("unavailable: the keystore daemon at " + target
                    + " refused the call: " + message);
            case PERMISSION_DENIED -> new RemoteRefusalException("not granted by the keystore daemon: " + message);
            case UNAUTHENTICATED -> new RemoteRefusalException("the keystore daemon at " + target
                    + " did not accept the client certificate: " + message);
            default -> new RemoteRefusalException("the keystore daemon at " + target + " failed the call ("
                    + status.getCode() + "): " + message);
        };
    }

    /** The transport's own reason (e.g. the refused connection) rather than gRPC's "io exception". */
    static String transport(StatusRuntimeException e) {
        Throwable cause = e.getCause();
        while (cause != null && cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String description = e.getStatus().getDescription();
        if (cause != null && cause.getMessage() != null) {
            return cause.getMessage();
        }
        return description == null ? e.getStatus().getCode().toString() : description;
    }

    /** The caller is not allowed what it asked, or the daemon failed in a way no keystore exception names. */
    static final class RemoteRefusalException extends KeystoreException {
        private static final long serialVersionUID = 1L;

        RemoteRefusalException(String message) {
            super(message, null, null);
        }
    }

    /*
     * Each keeps its type (commands and callers branch on it) and the daemon's message as it is, and
     * prints as the api exception it stands for: the Gogo console shows a failed command's exception
     * with toString(), so the client's console then reads exactly as the daemon's.
     */

    /** What {@link Throwable#toString()} gives for the api exception {@code e} extends. */
    private static String asApiException(Throwable e) {
        return e.getClass().getSuperclass().getName() + ": " + e.getMessage();
    }

    private static final class NotFound extends KeyNotFoundException {
        private static final long serialVersionUID = 1L;
        private final String message;

        NotFound(String message) {
            super("");
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }

    private static final class Exists extends KeyExistsException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Exists(String message) {
            super(null);
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }

    private static final class Conflict extends ConflictException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Conflict(String message) {
            super(null, 0, 0);
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }

    private static final class Integrity extends IntegrityException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Integrity(String message) {
            super(null, "");
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }

    private static final class Invalid extends InvalidInputException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Invalid(String message) {
            super(field(message), "");
            this.message = message;
        }

        /** The field the daemon named: its message is "invalid FIELD[ (key ...)]: RULE". */
        private static String field(String message) {
            String rest = message.startsWith("invalid ") ? message.substring("invalid ".length()) : message;
            int end = rest.indexOf(' ');
            int colon = rest.indexOf(':');
            int stop = end < 0 ? colon : colon < 0 ? end : Math.min(end, colon);
            return stop < 0 ? rest : rest.substring(0, stop);
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }

    private static final class Refused extends PolicyRefusedException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Refused(String message) {
            super(null, "");
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }

    private static final class Unavailable extends UnavailableException {
        private static final long serialVersionUID = 1L;
        private final String message;

        Unavailable(String message) {
            super("");
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public String toString() {
            return asApiException(this);
        }
    }
}
