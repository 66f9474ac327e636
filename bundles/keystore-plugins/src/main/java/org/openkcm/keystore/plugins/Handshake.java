package org.openkcm.keystore.plugins;

import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;

/**
 * The line a go-plugin plugin prints on stdout once it serves:
 * {@code CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL|SERVER-CERT}. The server certificate
 * is the base64 (standard alphabet, no padding) of its DER form, present under AutoMTLS.
 */
record Handshake(int appProtocol, String network, String address, X509Certificate serverCertificate) {

    /** go-plugin's own protocol version; every plugin prints 1. */
    static final int CORE_PROTOCOL_VERSION = 1;

    /**
     * @param expectedAppProtocol the application protocol version the host asked for
     * @throws PluginStartException saying which part of the line is wrong
     */
    static Handshake parse(String line, int expectedAppProtocol) {
        String[] parts = line.trim().split("\\|", -1);
        if (parts.length < 6) {
            throw new PluginStartException("the plugin's handshake line has " + parts.length
                    + " parts, not core|app|network|address|grpc|cert: " + printable(line));
        }
        if (!String.valueOf(CORE_PROTOCOL_VERSION).equals(parts[0])) {
            throw new PluginStartException("the plugin speaks go-plugin core protocol " + printable(parts[0])
                    + "; this host speaks " + CORE_PROTOCOL_VERSION);
        }
        if (!String.valueOf(expectedAppProtocol).equals(parts[1])) {
            throw new PluginStartException("the plugin speaks keystore plugin protocol version " + printable(parts[1])
                    + "; this host speaks version " + expectedAppProtocol);
        }
        if (!parts[2].equals("unix") && !parts[2].equals("tcp")) {
            throw new PluginStartException("the plugin listens on network " + printable(parts[2])
                    + "; only unix and tcp are supported");
        }
        if (!parts[4].equals("grpc")) {
            throw new PluginStartException("the plugin speaks " + printable(parts[4]) + ", not grpc");
        }
        if (parts[5].isEmpty()) {
            throw new PluginStartException("the plugin sent no server certificate: it does not do AutoMTLS");
        }
        return new Handshake(expectedAppProtocol, parts[2], parts[3], certificate(parts[5]));
    }

    private static X509Certificate certificate(String base64) {
        try {
            byte[] der = Base64.getDecoder().decode(base64);
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (IllegalArgumentException | CertificateException e) {
            throw new PluginStartException("the plugin's server certificate in the handshake is not a certificate: "
                    + e.getMessage());
        }
    }

    /** A bounded, single-line rendering of text from the plugin, for error messages. */
    static String printable(String text) {
        String oneLine = text.replaceAll("\\p{Cntrl}", "?");
        return '"' + (oneLine.length() > 120 ? oneLine.substring(0, 120) + "…" : oneLine) + '"';
    }
}
