package org.openkcm.keystore.kek.transit;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.kek.common.RingFiles;
import org.openkcm.keystore.kek.common.RootSealedKekProvider.RingSettings;
import org.openkcm.keystore.kek.common.SecretReference;
import org.openkcm.keystore.secrets.LoopbackAddress;
import org.openkcm.keystore.secrets.SecretPolicy;

/** The checked configuration of a {@link TransitKekProvider}; every refusal names the attribute. */
final class TransitSettings {
    private static final Pattern PATH_SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern NAMESPACE = Pattern.compile("([A-Za-z0-9][A-Za-z0-9._-]{0,63}/?){0,8}");

    final URI address;
    final String mount;
    final String keyName;
    final String namespace;
    final SecretReference token;
    final Path caFile;
    final Duration timeout;
    final RingSettings ring;

    private TransitSettings(TransitKekProvider.Config c, UnaryOperator<String> systemProperties) {
        this.address = address(c.address());
        this.mount = segment("mount", c.mount());
        this.keyName = segment("key.name", c.key_name());
        String ns = c.namespace() == null ? "" : c.namespace().strip();
        if (!NAMESPACE.matcher(ns).matches()) {
            throw new InvalidInputException("namespace", "must be an OpenBao namespace path (letters, digits, '.', '_', '-', '/')");
        }
        this.namespace = ns;
        this.token = SecretReference.parse("token.source", c.token_source(),
                SecretPolicy.from(systemProperties));
        String ca = c.tls_ca_file() == null ? "" : c.tls_ca_file().strip();
        if (!ca.isEmpty() && !Files.isReadable(Path.of(ca))) {
            throw new InvalidInputException("tls.ca.file", ca + " is not a readable file");
        }
        if (!ca.isEmpty() && !"https".equals(address.getScheme())) {
            throw new InvalidInputException("tls.ca.file", "is set but the address is not https://");
        }
        this.caFile = ca.isEmpty() ? null : Path.of(ca);
        if (c.timeout_seconds() < 1 || c.timeout_seconds() > 300) {
            throw new InvalidInputException("timeout.seconds", "must be 1 to 300");
        }
        this.timeout = Duration.ofSeconds(c.timeout_seconds());
        this.ring = new RingSettings(c.kek_id(), RingFiles.resolve(c.ring_file(), c.kek_id(), systemProperties),
                c.create(), c.kek_versions(), LocalKekRing.Wrap.parse(c.wrap()));
    }

    static TransitSettings from(TransitKekProvider.Config config, UnaryOperator<String> systemProperties) {
        return new TransitSettings(config, systemProperties);
    }

    private static URI address(String value) {
        String v = value == null ? "" : value.strip();
        try {
            URI uri = new URI(v);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
                    && (uri.getPath() == null || uri.getPath().isEmpty() || "/".equals(uri.getPath()))
                    && uri.getQuery() == null && uri.getUserInfo() == null) {
                if ("http".equals(uri.getScheme()) && !LoopbackAddress.isLiteral(uri.getHost())) {
                    // the token would cross the network in clear: plain http only to this machine
                    throw new InvalidInputException("address", "'" + v + "' is plain http:// to a host that is not a"
                            + " literal loopback address (127.0.0.0/8, ::1); use https://");
                }
                return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), "/", null, null);
            }
        } catch (URISyntaxException e) {
            // refused below
        }
        throw new InvalidInputException("address", "must be the OpenBao server's http:// or https:// address with"
                + " host and port and no path, e.g. https://openbao.example:8200");
    }

    private static String segment(String field, String value) {
        String v = value == null ? "" : value.strip();
        if (!PATH_SEGMENT.matcher(v).matches()) {
            throw new InvalidInputException(field, "must be 1-128 letters, digits, '.', '_' or '-' (one path segment)");
        }
        return v;
    }
}
