package org.openkcm.keystore.kek.awskms;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.kek.common.RingFiles;
import org.openkcm.keystore.kek.common.RootSealedKekProvider.RingSettings;
import org.openkcm.keystore.kek.common.SecretReference;
import org.openkcm.keystore.secrets.SecretPolicy;

/** The checked configuration of a {@link KmsKekProvider}; every refusal names the attribute. */
final class KmsSettings {
    private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9:/_+=,.@-]{1,2048}");
    private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-\\d{1,2}");
    private static final Pattern ACCESS_KEY_ID = Pattern.compile("[A-Z0-9]{16,128}");

    final String keyId;
    final String region;
    final URI endpoint;
    final boolean staticCredentials;
    final String accessKeyId;
    final SecretReference secretAccessKey;
    final SecretReference sessionToken;
    final Duration timeout;
    final RingSettings ring;

    private KmsSettings(KmsKekProvider.Config c, UnaryOperator<String> systemProperties) {
        String key = c.key_id() == null ? "" : c.key_id().strip();
        if (!KEY_ID.matcher(key).matches()) {
            throw new InvalidInputException("key.id", "must be a KMS key id, key ARN, alias name (alias/...) or alias ARN");
        }
        this.keyId = key;
        String r = c.region() == null ? "" : c.region().strip();
        if (!REGION.matcher(r).matches()) {
            throw new InvalidInputException("region", "must be an AWS region name, e.g. eu-central-1");
        }
        this.region = r;
        this.endpoint = endpoint(c.endpoint());
        String credentials = c.credentials() == null ? "" : c.credentials().strip();
        if (!credentials.equals("default") && !credentials.equals("static")) {
            throw new InvalidInputException("credentials", "must be 'default' (the SDK's default chain: environment,"
                    + " profile, container or instance role) or 'static' (access.key.id and secret.access.key.source)");
        }
        this.staticCredentials = credentials.equals("static");
        if (staticCredentials) {
            String id = c.access_key_id() == null ? "" : c.access_key_id().strip();
            if (!ACCESS_KEY_ID.matcher(id).matches()) {
                throw new InvalidInputException("access.key.id", "must be an AWS access key id (upper-case letters and digits)"
                        + " when credentials = static");
            }
            this.accessKeyId = id;
            this.secretAccessKey = SecretReference.parse("secret.access.key.source", c.secret_access_key_source(),
                    SecretPolicy.from(systemProperties));
            String session = c.session_token_source() == null ? "" : c.session_token_source().strip();
            this.sessionToken = session.isEmpty() ? null : SecretReference.parse("session.token.source", session,
                    SecretPolicy.from(systemProperties));
        } else {
            if (!c.access_key_id().isBlank() || !c.secret_access_key_source().isBlank()) {
                throw new InvalidInputException("credentials", "access.key.id and secret.access.key.source are used only"
                        + " with credentials = static");
            }
            this.accessKeyId = null;
            this.secretAccessKey = null;
            this.sessionToken = null;
        }
        if (c.timeout_seconds() < 1 || c.timeout_seconds() > 300) {
            throw new InvalidInputException("timeout.seconds", "must be 1 to 300");
        }
        this.timeout = Duration.ofSeconds(c.timeout_seconds());
        this.ring = new RingSettings(c.kek_id(), RingFiles.resolve(c.ring_file(), c.kek_id(), systemProperties),
                c.create(), c.kek_versions(), LocalKekRing.Wrap.parse(c.wrap()));
    }

    static KmsSettings from(KmsKekProvider.Config config, UnaryOperator<String> systemProperties) {
        return new KmsSettings(config, systemProperties);
    }

    private static URI endpoint(String value) {
        String v = value == null ? "" : value.strip();
        if (v.isEmpty()) {
            return null;
        }
        try {
            URI uri = new URI(v);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
                    && uri.getUserInfo() == null && uri.getQuery() == null) {
                return uri;
            }
        } catch (URISyntaxException e) {
            // refused below
        }
        throw new InvalidInputException("endpoint", "must be empty (the region's KMS endpoint) or an http(s):// URL"
                + " with a host, e.g. https://kms.eu-central-1.amazonaws.com or a VPC endpoint");
    }

    String where() {
        return "AWS KMS key " + keyId + " in " + region + (endpoint == null ? "" : " at " + endpoint);
    }
}
