package org.openkcm.keystore.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC server's PEM files (server certificate and key, client CA) and the local CA's files are
 * read only if regular and at most 64 KiB: a FIFO in their place would block the server's start.
 */
class BoundedPemFilesTest {

    @TempDir
    Path dir;

    @Test
    void theLocalAuthorityStillOpensWhatItCreated() throws Exception {
        LocalCertificateAuthority created = LocalCertificateAuthority.openOrCreate(dir.resolve("tls"));
        LocalCertificateAuthority opened = LocalCertificateAuthority.open(created.folder());
        assertEquals(1, LocalCertificateAuthority.readCertificates(dir.resolve("tls")
                .resolve(LocalCertificateAuthority.SERVER_CERTIFICATE)).size());
        assertTrue(opened.folder().equals(created.folder()));
    }

    @Test
    void aFifoInPlaceOfACertificateOrKeyIsRefusedWithoutBlocking() throws Exception {
        Path tls = LocalCertificateAuthority.openOrCreate(dir.resolve("tls")).folder();
        Path ca = tls.resolve(LocalCertificateAuthority.CA_CERTIFICATE);
        Files.delete(ca);
        assertEquals(0, new ProcessBuilder("mkfifo", ca.toString()).inheritIO().start().waitFor(), "mkfifo");
        IOException e = assertThrows(IOException.class, () -> LocalCertificateAuthority.open(tls));
        assertEquals(ca + ": not a regular file (a FIFO, socket or device)", e.getMessage());
        assertThrows(IOException.class, () -> LocalCertificateAuthority.readPrivateKey(ca));
        assertTrue(Files.readAttributes(ca, java.nio.file.attribute.BasicFileAttributes.class).isOther(), "left as it was");
    }

    @Test
    void anOversizedPemFileIsRefused() throws Exception {
        Path big = Files.writeString(dir.resolve("big.pem"), "-----BEGIN CERTIFICATE-----\n" + "A".repeat(64 * 1024));
        IOException e = assertThrows(IOException.class, () -> LocalCertificateAuthority.readCertificates(big));
        assertEquals(big + ": larger than 65536 bytes", e.getMessage());
        assertThrows(IOException.class, () -> LocalCertificateAuthority.readPrivateKey(big));
    }
}
