package org.openkcm.keystore.openbao;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.AuthMethod;
import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.Config;
import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.NamespaceMode;
import org.openkcm.keystore.secrets.LoopbackAddress;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.openkcm.keystore.secrets.SecretSource;
import org.openkcm.keystore.secrets.SecretUse;

/**
 * A validated, immutable copy of one {@link Config}. Every rule of the configuration is checked
 * here, before anything is started or registered; each refusal is an
 * {@link IllegalArgumentException} naming the property (as written in a {@code .cfg} file) and
 * the rule, never a credential.
 */
final class OpenBaoSettings {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final int MAX_PATH_LENGTH = 256;
    private static final Set<String> HELD_TIERS = Set.of(KeyType.L2.name(), KeyType.L3.name(), KeyType.L4.name());

    /** The first node's address: the one messages name for a single node. */
    final String address;
    /** {@link #address}, then {@code failover.addresses}: the nodes of one cluster, in order. */
    final List<String> addresses;
    final String kvMount;
    final String pathPrefix;
    /** Where the token lives (auth calls); with mode single, also where every key lives. Empty: root. */
    final String namespace;
    /** True for namespace.mode = per-tenant. */
    final boolean perTenant;
    /** per-tenant: the parent of the tenant namespaces. Empty otherwise. */
    final String namespaceBase;
    /** Where the index, service and node keys live (per-tenant), or {@link #namespace} (single). */
    final String namespaceServices;
    final Duration connectTimeout;
    final int readTimeoutSeconds;
    final RetryPolicy retry;
    final Duration healthTimeout;
    final String name;
    final List<String> tiers;
    final List<String> regions;
    final int ranking;
    final AuthMethod authMethod;
    final SecretSource token;
    final String approleMount;
    final SecretSource roleId;
    final SecretSource secretId;
    final boolean tlsVerify;
    /** The second flag {@code tls.verify=false} needs: set on purpose, not by a slip. */
    final boolean allowUnverifiedTls;
    final Path tlsCaFile;
    final Path tlsClientCertFile;
    final Path tlsClientKeyFile;
    final boolean allowInsecureHttp;

    private OpenBaoSettings(Config c, Function<String, String> environment, SecretPolicy policy) {
        this.allowInsecureHttp = c.allow_insecure_http();
        this.address = address("address", c.address(), allowInsecureHttp);
        this.addresses = addresses(address, c.failover_addresses(), allowInsecureHttp);
        this.kvMount = path("kv.mount", c.kv_mount(), false);
        this.pathPrefix = path("path.prefix", c.path_prefix(), false);
        this.namespace = path("namespace", c.namespace(), true);
        String mode = c.namespace_mode() == null ? "" : c.namespace_mode().trim();
        if (mode.equals(NamespaceMode.PER_TENANT)) {
            this.perTenant = true;
            if (c.namespace_base() == null || c.namespace_base().isBlank()) {
                throw new IllegalArgumentException("namespace.base is required with namespace.mode=per-tenant: the"
                        + " namespace under which each tenant gets its own, e.g. openkcm");
            }
            this.namespaceBase = path("namespace.base", c.namespace_base(), false);
            String services = path("namespace.services", c.namespace_services(), true);
            this.namespaceServices = services.isEmpty() ? namespaceBase : services;
            inside("namespace.base", namespaceBase, namespace);
            inside("namespace.services", namespaceServices, namespace);
        } else if (mode.equals(NamespaceMode.SINGLE) || mode.isEmpty()) {
            this.perTenant = false;
            notSet("namespace.base", c.namespace_base(), "namespace.mode=single (it is for per-tenant)");
            notSet("namespace.services", c.namespace_services(), "namespace.mode=single (it is for per-tenant)");
            this.namespaceBase = "";
            this.namespaceServices = namespace;
        } else {
            throw new IllegalArgumentException("namespace.mode must be " + NamespaceMode.SINGLE + " or "
                    + NamespaceMode.PER_TENANT + ", not '" + mode + "'");
        }
        this.connectTimeout = Duration.ofSeconds(range("connect.timeout.seconds", c.connect_timeout_seconds(), 1, 300));
        this.readTimeoutSeconds = (int) range("read.timeout.seconds", c.read_timeout_seconds(), 1, 600);
        long attempts = range("retry.max.attempts", c.retry_max_attempts(), 1, 20);
        long initial = range("retry.initial.backoff.ms", c.retry_initial_backoff_ms(), 1, 60_000);
        long max = range("retry.max.backoff.ms", c.retry_max_backoff_ms(), initial, 300_000);
        this.retry = new RetryPolicy((int) attempts, Duration.ofMillis(initial), Duration.ofMillis(max));
        this.healthTimeout = Duration.ofMillis(range("health.timeout.ms", c.health_timeout_ms(), 100,
                KeystoreHealth.MAX_PROBE_TIME.toMillis()));
        this.name = segment("keystore.name", c.keystore_name());
        this.tiers = tiers(c.keystore_tiers());
        this.regions = regions(c.keystore_regions());
        this.ranking = c.service_ranking();
        this.authMethod = required("auth.method", c.auth_method());
        if (authMethod == AuthMethod.token) {
            this.token = SecretSource.parse("token.source", c.token_source(), environment, policy,
                    SecretUse.CREDENTIAL);
            this.roleId = null;
            this.secretId = null;
            notSet("role.id.source", c.role_id_source(), "auth.method=token");
            notSet("secret.id.source", c.secret_id_source(), "auth.method=token");
            readable(token);
        } else {
            this.token = null;
            this.roleId = SecretSource.parse("role.id.source", c.role_id_source(), environment, policy,
                    SecretUse.CREDENTIAL);
            this.secretId = SecretSource.parse("secret.id.source", c.secret_id_source(), environment, policy,
                    SecretUse.CREDENTIAL);
            notSet("token.source", c.token_source(), "auth.method=approle");
            readable(roleId);
            readable(secretId);
        }
        this.approleMount = path("approle.mount", c.approle_mount(), false);
        this.tlsVerify = c.tls_verify();
        this.allowUnverifiedTls = c.allow_unverified_tls();
        if (!tlsVerify && !allowUnverifiedTls) {
            throw new IllegalArgumentException("tls.verify=false switches off every check of the server certificate"
                    + " and host name: anyone on the path could read tokens and sealed records. Give tls.ca.file"
                    + " instead, or also set allow.unverified.tls=true to confirm it (a lab only)");
        }
        this.tlsCaFile = file("tls.ca.file", c.tls_ca_file());
        this.tlsClientCertFile = file("tls.client.cert.file", c.tls_client_cert_file());
        this.tlsClientKeyFile = file("tls.client.key.file", c.tls_client_key_file());
        if ((tlsClientCertFile == null) != (tlsClientKeyFile == null)) {
            throw new IllegalArgumentException("tls.client.cert.file and tls.client.key.file go together: give both"
                    + " for mutual TLS, or neither");
        }
        boolean tlsFiles = tlsCaFile != null || tlsClientCertFile != null;
        if (tlsFiles && !this.address.startsWith("https://")) {
            throw new IllegalArgumentException("tls.* files are set but address is not https://");
        }
    }

    /** The addresses as one line, e.g. for the log line of a change. */
    String addressesShown() {
        return String.join(", ", addresses);
    }

    /** The other nodes of the cluster, each checked as {@code address} is, same scheme, none twice. */
    private static List<String> addresses(String first, String[] failover, boolean allowInsecureHttp) {
        List<String> all = new ArrayList<>();
        all.add(first);
        String scheme = first.substring(0, first.indexOf(':'));
        for (String value : failover == null ? new String[0] : failover) {
            if (value == null || value.isBlank()) {
                continue;
            }
            String next = address("failover.addresses", value, allowInsecureHttp);
            if (!next.startsWith(scheme + "://")) {
                throw new IllegalArgumentException("failover.addresses: '" + next + "' does not use " + scheme
                        + ":// as address does: one TLS setting serves every node of the cluster");
            }
            if (all.contains(next)) {
                throw new IllegalArgumentException("failover.addresses: '" + next + "' is given twice (address"
                        + " and failover.addresses name each node of the cluster once)");
            }
            all.add(next);
        }
        return List.copyOf(all);
    }

    /**
     * @param environment where {@code env:} references are looked up ({@code System::getenv})
     * @throws IllegalArgumentException naming the property and the rule
     */
    static OpenBaoSettings from(Config config, Function<String, String> environment) {
        return new OpenBaoSettings(config, environment, SecretPolicy.unconfined());
    }

    /**
     * {@link #from(Config, Function)} with the operator's allow-list of secret sources: a reference
     * outside it is refused, naming the reference and the rule.
     */
    static OpenBaoSettings from(Config config, Function<String, String> environment, SecretPolicy policy) {
        return new OpenBaoSettings(config, environment, policy);
    }

    /**
     * The WARN line a {@code service.ranking} of another type than {@code Integer} deserves (a plain
     * {@code .cfg} value is a String): Declarative Services publishes it as given, and the framework
     * and the router then rank this keystore 0. Empty for an Integer or no value.
     *
     * @param published the configuration's {@code service.ranking}, as it is published
     */
    Optional<String> rankingWarning(Object published) {
        if (published == null || published instanceof Integer) {
            return Optional.empty();
        }
        return Optional.of("OpenBao keystore '" + name + "': service.ranking '" + published + "' is a "
                + published.getClass().getSimpleName() + ", not an Integer, so the framework and the router rank it 0;"
                + " write service.ranking = I\"" + ranking + "\" in a .cfg file (typed values), or set it in config.yaml");
    }

    /** The WARN line an accepted {@code tls.verify=false} deserves, or empty when verification is on. */
    Optional<String> unverifiedTlsWarning() {
        if (tlsVerify) {
            return Optional.empty();
        }
        return Optional.of("OpenBao keystore '" + name + "' at " + address + ": tls.verify=false with"
                + " allow.unverified.tls=true, the server certificate and host name are NOT verified");
    }

    private static String address(String property, String value, boolean allowInsecureHttp) {
        String text = value == null ? "" : value.trim();
        if (text.isEmpty()) {
            throw new IllegalArgumentException(property + " is required, e.g. https://bao.example.net:8200");
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(property + " is not a URL: '" + text + "' (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw new IllegalArgumentException(property + " must be an https:// (or loopback http://) URL: '" + text + "'");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException(property + " has no host: '" + text + "'");
        }
        if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null
                || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
            throw new IllegalArgumentException(property + " must be scheme://host[:port] only, without user, path or query: '"
                    + text + "'");
        }
        if (scheme.equals("http") && !allowInsecureHttp && !LoopbackAddress.isLiteral(host)) {
            throw new IllegalArgumentException(property + " '" + text + "' is plain http:// to a non-loopback host:"
                    + " tokens and sealed records would cross the network unencrypted. Use https://, or set"
                    + " allow.insecure.http=true for a lab");
        }
        return scheme + "://" + uri.getRawAuthority();
    }

    private static String path(String property, String value, boolean optional) {
        String text = value == null ? "" : value.trim();
        while (text.startsWith("/")) {
            text = text.substring(1);
        }
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        if (text.isEmpty()) {
            if (optional) {
                return "";
            }
            throw new IllegalArgumentException(property + " is required");
        }
        if (text.length() > MAX_PATH_LENGTH) {
            throw new IllegalArgumentException(property + " must be at most " + MAX_PATH_LENGTH + " characters");
        }
        for (String segment : text.split("/", -1)) {
            if (!SEGMENT.matcher(segment).matches()) {
                throw new IllegalArgumentException(property + " must be segments separated by '/', each starting"
                        + " with a letter or digit and made of letters, digits, '.', '_' or '-': '" + value + "'");
            }
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

    /** A namespace that must be the token's own ({@code namespace}) or below it: a token reaches no other. */
    private static void inside(String property, String child, String parent) {
        if (!parent.isEmpty() && !child.equals(parent) && !child.startsWith(parent + "/")) {
            throw new IllegalArgumentException(property + " '" + child + "' must be namespace '" + parent
                    + "' or inside it: the token lives there and reaches no other namespace");
        }
    }

    private static long range(String property, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(property + " must be between " + min + " and " + max + ", not " + value);
        }
        return value;
    }

    private static <T> T required(String property, T value) {
        if (value == null) {
            throw new IllegalArgumentException(property + " is required");
        }
        return value;
    }

    private static List<String> split(String[] values) {
        List<String> out = new ArrayList<>();
        if (values != null) {
            for (String value : values) {
                if (value != null) {
                    for (String part : value.split(",")) {
                        if (!part.isBlank()) {
                            out.add(part.trim());
                        }
                    }
                }
            }
        }
        return out;
    }

    private static List<String> tiers(String[] values) {
        Set<String> tiers = new LinkedHashSet<>();
        for (String tier : split(values)) {
            // As written: Declarative Services publishes the configured value, which routes match exactly.
            if (!HELD_TIERS.contains(tier)) {
                throw new IllegalArgumentException("keystore.tiers: '" + tier + "' is not a tier this keystore holds"
                        + " (L2, L3 or L4, in capitals; L1 never lives here)");
            }
            tiers.add(tier);
        }
        if (tiers.isEmpty()) {
            throw new IllegalArgumentException("keystore.tiers must name at least one of L2, L3, L4");
        }
        return List.copyOf(tiers);
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

    private static void notSet(String property, String value, String because) {
        if (value != null && !value.isBlank()) {
            throw new IllegalArgumentException(property + " must not be set with " + because);
        }
    }

    private static void readable(SecretSource source) {
        try {
            source.read();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private static Path file(String property, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        Path path = Paths.get(value.trim());
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException(property + " must be an absolute path: '" + value + "'");
        }
        if (!Files.isReadable(path)) {
            throw new IllegalArgumentException(property + ": " + path + " does not exist or is not readable");
        }
        return path;
    }
}
