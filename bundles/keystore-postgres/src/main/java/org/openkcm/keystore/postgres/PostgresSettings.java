package org.openkcm.keystore.postgres;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.EnumSet;
import java.util.Hashtable;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.postgres.PostgresKeystoreComponent.Config;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.openkcm.keystore.secrets.SecretSource;
import org.openkcm.keystore.secrets.SecretUse;
import org.osgi.framework.Constants;

/**
 * A validated, immutable copy of one {@link Config}. Every rule of the configuration is checked
 * here, before a pool is made or a service registered; each refusal is an
 * {@link IllegalArgumentException} naming the property (as written in a {@code .cfg} file) and
 * the rule, never the password.
 */
final class PostgresSettings {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final Pattern USER = Pattern.compile("[A-Za-z_][A-Za-z0-9_.@-]{0,62}");
    private static final String URL_PREFIX = "jdbc:postgresql://";
    /** pgjdbc URL parameters that carry a credential: refused, the password comes from password.ref. */
    private static final Set<String> CREDENTIAL_PARAMETERS = Set.of("password", "user", "sslpassword", "sslkey");

    final String name;
    final Set<KeyType> tiers;
    final List<String> regions;
    final int ranking;
    final String url;
    final String user;
    final SecretSource password;
    final String schema;
    final int poolSize;
    final Duration connectTimeout;
    final Duration statementTimeout;
    final Duration healthTimeout;

    private PostgresSettings(Config c, Function<String, String> environment, SecretPolicy policy) {
        this.name = segment("keystore.name", c.keystore_name());
        this.tiers = tiers(c.keystore_tiers());
        this.regions = regions(c.keystore_regions());
        this.ranking = c.service_ranking();
        this.url = url(c.url());
        this.user = user(c.user());
        this.password = SecretSource.parse("password.ref", c.password_ref(), environment, policy,
                SecretUse.CREDENTIAL);
        try {
            password.read();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        this.schema = schema(c.schema());
        this.poolSize = (int) range("pool.size", c.pool_size(), 1, 200);
        this.connectTimeout = Duration.ofSeconds(range("connect.timeout.seconds", c.connect_timeout_seconds(), 1, 300));
        this.statementTimeout = Duration.ofSeconds(range("statement.timeout.seconds", c.statement_timeout_seconds(), 1,
                600));
        this.healthTimeout = Duration.ofMillis(range("health.timeout.ms", c.health_timeout_ms(), 100,
                KeystoreHealth.MAX_PROBE_TIME.toMillis()));
    }

    /**
     * @param environment where {@code env:} references are looked up ({@code System::getenv})
     * @throws IllegalArgumentException naming the property and the rule
     */
    static PostgresSettings from(Config config, Function<String, String> environment) {
        return new PostgresSettings(config, environment, SecretPolicy.unconfined());
    }

    /**
     * {@link #from(Config, Function)} with the operator's allow-list of secret sources: a reference
     * outside it is refused, naming the reference and the rule.
     */
    static PostgresSettings from(Config config, Function<String, String> environment, SecretPolicy policy) {
        return new PostgresSettings(config, environment, policy);
    }

    /** The service properties of the {@code Keystore} this configuration registers. */
    Dictionary<String, Object> serviceProperties() {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(KeystoreProperties.NAME, name);
        properties.put(KeystoreProperties.TIERS, tiers.stream().map(Enum::name).toArray(String[]::new));
        properties.put(KeystoreProperties.REGIONS, regions.toArray(new String[0]));
        properties.put(Constants.SERVICE_RANKING, ranking);
        return properties;
    }

    private static String url(String value) {
        String text = value == null ? "" : value.trim();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("url is required, e.g. jdbc:postgresql://db.example.net:5432/keystore");
        }
        if (!text.startsWith(URL_PREFIX) || text.length() == URL_PREFIX.length()) {
            // The value is not echoed: a mistyped field may hold anything, a password included.
            throw new IllegalArgumentException("url must be jdbc:postgresql://host[:port]/database[?parameters]");
        }
        String rest = text.substring(URL_PREFIX.length());
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        if (authority.isEmpty() || authority.contains("@")) {
            throw new IllegalArgumentException("url must name host[:port] without user or password:"
                    + " jdbc:postgresql://host[:port]/database");
        }
        int query = rest.indexOf('?');
        if (query >= 0) {
            for (String parameter : rest.substring(query + 1).split("&")) {
                String key = parameter.split("=", 2)[0].trim().toLowerCase(Locale.ROOT);
                if (CREDENTIAL_PARAMETERS.contains(key)) {
                    throw new IllegalArgumentException("url must not carry the parameter '" + key + "': the user is"
                            + " the 'user' property and the password comes from password.ref"
                            + " (the url was not echoed)");
                }
            }
        }
        return text;
    }

    private static String user(String value) {
        String text = value == null ? "" : value.trim();
        if (!USER.matcher(text).matches()) {
            throw new IllegalArgumentException("user is required: a database role name of letters, digits, '_', '.',"
                    + " '@' or '-', at most 63 characters");
        }
        return text;
    }

    private static String schema(String value) {
        String text = value == null ? "" : value.trim();
        if (!SCHEMA.matcher(text).matches() || text.startsWith("pg_")) {
            throw new IllegalArgumentException("schema must be 1 to 63 lower-case letters, digits or '_', starting with"
                    + " a letter or '_' and not with 'pg_': '" + text + "'");
        }
        return text;
    }

    private static String segment(String property, String value) {
        String text = value == null ? "" : value.trim();
        if (text.isEmpty() || text.length() > 128 || !SEGMENT.matcher(text).matches()) {
            throw new IllegalArgumentException(property + " must be 1 to 128 characters, starting with a letter or"
                    + " digit, made of letters, digits, '.', '_' or '-'");
        }
        return text;
    }

    private static long range(String property, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(property + " must be between " + min + " and " + max + ", not " + value);
        }
        return value;
    }

    private static List<String> split(String[] values) {
        List<String> out = new ArrayList<>();
        if (values != null) {
            out.addAll(KeystoreProperties.values(values));
        }
        return out;
    }

    private static Set<KeyType> tiers(String[] values) {
        Set<KeyType> tiers = EnumSet.noneOf(KeyType.class);
        for (String tier : split(values)) {
            try {
                tiers.add(KeyType.valueOf(tier.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("keystore.tiers: '" + tier + "' is not a tier this keystore holds"
                        + " (L2, L3 or L4; L1 never lives here)");
            }
        }
        if (tiers.isEmpty()) {
            throw new IllegalArgumentException("keystore.tiers must name at least one of L2, L3, L4");
        }
        return Collections.unmodifiableSet(tiers);
    }

    private static List<String> regions(String[] values) {
        Set<String> regions = new LinkedHashSet<>();
        for (String region : split(values)) {
            if (region.length() > 64 || !SEGMENT.matcher(region).matches()) {
                throw new IllegalArgumentException("keystore.regions: '" + region + "' is not a region identifier");
            }
            regions.add(region);
        }
        return List.copyOf(regions);
    }
}
