package org.openkcm.keystore.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.ConflictException;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** A status the server made with {@link StatusMapping} comes back as the same exception type, message and printed form. */
class RemoteFailuresTest {
    private static final String TARGET = "127.0.0.1:7443";
    private static final KeyId K = KeyId.of("k", 1);

    @Test
    void everyKeystoreFailureComesBackWithItsTypeAndMessage() {
        for (KeystoreException original : List.of(new KeyNotFoundException(K), new KeyExistsException(K),
                new ConflictException(K, 1, 2), new IntegrityException(K, "tampered"),
                new UnavailableException("backend file is DOWN", K, null),
                new InvalidInputException("spec.name", "is required", K), new PolicyRefusedException(K, "RETIRED"))) {
            RuntimeException back = RemoteFailures.of(StatusMapping.toStatus(original), TARGET);
            assertEquals(original.getMessage(), back.getMessage(), original.getClass().getSimpleName());
            assertInstanceOf(original.getClass(), back, original.getMessage());
            // what a console prints for a failed command (Gogo shows toString()): as in the daemon's
            assertEquals(original.toString(), back.toString());
        }
    }

    @Test
    void anInvalidArgumentKeepsTheFieldItNames() {
        RuntimeException back = RemoteFailures.of(
                StatusMapping.toStatus(new InvalidInputException("filter.page_size", "at most 1000")), TARGET);
        assertEquals("filter.page_size", ((InvalidInputException) back).field());
        RuntimeException withKey = RemoteFailures.of(
                StatusMapping.toStatus(new InvalidInputException("tags", "too many", K)), TARGET);
        assertEquals("tags", ((InvalidInputException) withKey).field());
    }

    @Test
    void refusalsAndTheTransportSayWhoRefusedAndWhy() {
        RuntimeException denied = RemoteFailures.of(Status.PERMISSION_DENIED.withDescription("not granted: admin")
                .asRuntimeException(), TARGET);
        assertInstanceOf(RemoteFailures.RemoteRefusalException.class, denied);
        assertEquals("not granted by the keystore daemon: not granted: admin", denied.getMessage());

        StatusRuntimeException refused = Status.UNAVAILABLE.withDescription("io exception")
                .withCause(new RuntimeException("wrapped", new ConnectException("Connection refused"))).asRuntimeException();
        RuntimeException down = RemoteFailures.of(refused, TARGET);
        assertInstanceOf(UnavailableException.class, down);
        assertEquals("unavailable: the keystore daemon at 127.0.0.1:7443 did not answer (Connection refused)",
                down.getMessage());

        RuntimeException internal = RemoteFailures.of(Status.INTERNAL.withDescription("internal error (NPE)")
                .asRuntimeException(), TARGET);
        assertTrue(internal.getMessage().contains("(INTERNAL): internal error (NPE)"), internal.getMessage());
    }

    @Test
    void aTargetIsHostColonPort() {
        assertEquals(7443, DaemonChannel.address("127.0.0.1:7443").getPort());
        assertTrue(DaemonChannel.address("[::1]:7443").getAddress() instanceof java.net.Inet6Address);
        assertTrue(DaemonChannel.address("[::1]:7443").getAddress().isLoopbackAddress());
        for (String bad : new String[] {"", "127.0.0.1", "127.0.0.1:", ":7443", "h:x", "h:0", "h:70000"}) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> DaemonChannel.address(bad), bad);
            assertEquals("target", e.field());
        }
    }
}
