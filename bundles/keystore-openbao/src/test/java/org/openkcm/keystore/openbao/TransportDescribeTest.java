package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketException;

import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.Test;

/** What a failed exchange is called in health reasons and errors: the cause an operator can act on. */
class TransportDescribeTest {
    @Test
    void aRefusedClientCertificateIsNamedWhetherTheAlertOrOnlyTheResetArrives() {
        String alert = Transport.describe(new IOException("send failed",
                new SSLHandshakeException("Received fatal alert: certificate_required")));
        assertTrue(alert.startsWith("TLS: the server requires a client certificate it trusts"), alert);

        String reset = Transport.describe(new IOException("send failed", new SocketException("Connection reset")));
        assertEquals("the server reset the connection (Connection reset); a server that requires a client certificate"
                + " resets one that offers none it trusts (tls.client.cert.file and tls.client.key.file)", reset);
    }

    @Test
    void otherSocketFailuresKeepTheirOwnName() {
        assertEquals("SocketException: Broken pipe", Transport.describe(new IOException(new SocketException("Broken pipe"))));
    }
}
