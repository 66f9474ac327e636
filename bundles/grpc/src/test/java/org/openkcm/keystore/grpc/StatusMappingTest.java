package org.openkcm.keystore.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

class StatusMappingTest {
    private static final KeyId KEY = KeyId.of("orders", 2);

    @Test
    void everyKeystoreFailureHasItsCode() {
        assertEquals(Status.Code.NOT_FOUND, code(new KeyNotFoundException(KEY)));
        assertEquals(Status.Code.NOT_FOUND, code(new KeyNotFoundException("orders")));
        assertEquals(Status.Code.ALREADY_EXISTS, code(new KeyExistsException(KEY)));
        assertEquals(Status.Code.ABORTED, code(new ConflictException(KEY, 3, 4)));
        assertEquals(Status.Code.DATA_LOSS, code(new IntegrityException(KEY, "MAC mismatch")));
        assertEquals(Status.Code.UNAVAILABLE, code(new UnavailableException("backend file is down")));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(new InvalidInputException("spec.name", "is required")));
        assertEquals(Status.Code.FAILED_PRECONDITION, code(new PolicyRefusedException(KEY, "the key is RETIRED")));
        assertEquals(Status.Code.PERMISSION_DENIED, code(new StatusMapping.NotGrantedException("not granted")));
        assertEquals(Status.Code.UNAUTHENTICATED,
                code(new StatusMapping.NotAuthenticatedException("no client certificate")));
    }

    @Test
    void invalidInputNamesTheField() {
        Status status = StatusMapping.status(new InvalidInputException("spec.owner.id", "is required"));
        assertTrue(status.getDescription().contains("spec.owner.id"), status.getDescription());
    }

    @Test
    void anUnexpectedFailureShowsOnlyItsClassNeverItsMessage() {
        Status status = StatusMapping.status(new IllegalStateException("material 0xDEADBEEF token s.abc123"));
        assertEquals(Status.Code.INTERNAL, status.getCode());
        assertFalse(status.getDescription().contains("DEADBEEF"), status.getDescription());
        assertFalse(status.getDescription().contains("s.abc123"), status.getDescription());
        assertTrue(status.getDescription().contains("IllegalStateException"), status.getDescription());
    }

    @Test
    void aCauseNeverReachesTheDescription() {
        UnavailableException failure = new UnavailableException("backend openbao is down", KEY,
                new RuntimeException("X-Vault-Token: s.secret-token"));
        Status status = StatusMapping.status(failure);
        assertFalse(status.getDescription().contains("secret-token"), status.getDescription());
        assertEquals(null, status.getCause());
    }

    @Test
    void aStatusStaysAsItIs() {
        StatusRuntimeException already = Status.DEADLINE_EXCEEDED.asRuntimeException();
        assertSame(already, StatusMapping.toStatus(already));
    }

    private static Status.Code code(RuntimeException failure) {
        return StatusMapping.toStatus(failure).getStatus().getCode();
    }
}
