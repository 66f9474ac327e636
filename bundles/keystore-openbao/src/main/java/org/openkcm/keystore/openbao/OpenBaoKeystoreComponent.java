package org.openkcm.keystore.openbao;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Map;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One OpenBao-backed {@link Keystore} per factory configuration, that is per OpenBao cluster: the
 * Declarative Services seam around an {@link OpenBaoKeystore}, which it builds from the validated
 * configuration and to which every call is delegated.
 * <p>
 * The configuration is validated in full ({@link OpenBaoSettings}) when the component is
 * activated: a refused configuration (a plain secret where a reference belongs, {@code http://} to
 * a remote host, a bad address…) fails activation with a message naming the property, which SCR
 * records ({@code scr:info}, {@code FAILED_ACTIVATION}). SCR registers the declared service of an
 * immediate component before it activates it and keeps that registration after a failed
 * activation, as for the in-memory backend: the registration carries the configuration's
 * properties, but no caller can obtain a {@code Keystore} from it ({@code getService} is null), so
 * the router reports the backend UNAVAILABLE and refuses its keys with the failure. The server
 * itself is not needed at activation; while it cannot be reached, the keystore reports itself down
 * through {@link Keystore#health()}.
 * <p>
 * The service properties are those of the configuration plus the defaults of this component
 * ({@code keystore.name=openbao}, {@code keystore.tiers=L2,L3}, {@code service.ranking=0}), as DS
 * publishes them. They hold no secret: credentials are configured as references only
 * ({@code token.source}, {@code role.id.source}, {@code secret.id.source} are {@code env:NAME} or
 * {@code file:/path}; the backend reads the value itself), the rest are addresses, paths and
 * numbers. A refused configuration may hold a pasted secret; its lingering registration then
 * carries it, as ConfigAdmin and SCR's description of the component already do. No property is
 * made private (a name starting with '.'): that would rename what operators write, in the
 * metatype, {@code config.yaml}, the environment variables and the docs.
 * <p>
 * The framework and the router rank a service by an {@code Integer service.ranking} only: a
 * plain {@code .cfg} value is a String, so write {@code service.ranking = I"10"} (a typed
 * {@code .cfg}) or use {@code config.yaml}; a ranking of another type is published as given and
 * logged as a WARN.
 */
@Component(name = OpenBaoKeystoreComponent.PID, configurationPid = OpenBaoKeystoreComponent.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = Keystore.class, immediate = true,
        property = {
                KeystoreProperties.NAME + "=" + OpenBaoKeystoreComponent.DEFAULT_NAME,
                KeystoreProperties.TIERS + "=L2",
                KeystoreProperties.TIERS + "=L3",
                Constants.SERVICE_RANKING + ":Integer=0"})
@Designate(ocd = OpenBaoKeystoreComponent.Config.class, factory = true)
public final class OpenBaoKeystoreComponent implements Keystore {
    /** The factory PID: one configuration per OpenBao cluster. */
    public static final String PID = "org.openkcm.keystore.openbao";
    /** The {@code keystore.name} of a configuration that gives none. */
    public static final String DEFAULT_NAME = "openbao";

    /** The values of {@code namespace.mode}. */
    public static final class NamespaceMode {
        /** Every key in one namespace ({@code namespace}). */
        public static final String SINGLE = "single";
        /** A namespace per tenant under {@code namespace.base}. */
        public static final String PER_TENANT = "per-tenant";

        private NamespaceMode() {
        }
    }

    /** How the backend authenticates to OpenBao. */
    public enum AuthMethod {
        /** A token read from an environment variable or a file; renewed while renewable. */
        token,
        /** AppRole login with a role id and a secret id; renewed, and logged in again when needed. */
        approle
    }

    @ObjectClassDefinition(name = "OpenKCM Keystore: OpenBao backend",
            description = "A Keystore backend on an OpenBao KV v2 mount, one configuration per OpenBao cluster."
                    + " Credentials are references (env:NAME or file:/path), never values.")
    public @interface Config {
        @AttributeDefinition(name = "Address",
                description = "Base URL of the OpenBao server, e.g. https://bao.example.net:8200. http:// is accepted"
                        + " only for a loopback address unless allow.insecure.http is set.")
        String address();

        @AttributeDefinition(name = "Failover addresses", required = false,
                description = "The other nodes of the same OpenBao cluster (integrated storage, Raft), each as"
                        + " address is given. Calls go to one node at a time; when it is unreachable, sealed or has"
                        + " no active node to forward to, the next one takes over. A standby node counts as healthy"
                        + " then: it forwards every request to the active node.")
        String[] failover_addresses() default {};

        @AttributeDefinition(name = "KV v2 mount", description = "Path of the KV version 2 secrets engine.")
        String kv_mount() default "secret";

        @AttributeDefinition(name = "Path prefix",
                description = "Every path this backend writes lies under this prefix of the mount.")
        String path_prefix() default "openkcm";

        @AttributeDefinition(name = "Namespace", required = false,
                description = "OpenBao namespace (X-Vault-Namespace); empty for the root namespace. With"
                        + " namespace.mode=single every key lives there; with per-tenant it is where the token"
                        + " lives and logs in (namespace.base and namespace.services must be inside it).")
        String namespace() default "";

        @AttributeDefinition(name = "Namespace mode", options = {
                @Option(label = "One namespace for every key", value = NamespaceMode.SINGLE),
                @Option(label = "A namespace per tenant", value = NamespaceMode.PER_TENANT)},
                description = "single: every key in one namespace (namespace). per-tenant: a tenant's keys in the"
                        + " namespace <namespace.base>/<tenant id>, with its own KV v2 mount (kv.mount), created on"
                        + " first use when the token may; service and node keys, and the index of every key, in"
                        + " namespace.services.")
        String namespace_mode() default NamespaceMode.SINGLE;

        @AttributeDefinition(name = "Namespace base", required = false,
                description = "With namespace.mode=per-tenant (required then): the namespace that holds one child"
                        + " namespace per tenant, e.g. openkcm (a full path from the root namespace).")
        String namespace_base() default "";

        @AttributeDefinition(name = "Namespace for services", required = false,
                description = "With namespace.mode=per-tenant: where service and node keys and the key index live;"
                        + " empty for namespace.base (a full path from the root namespace).")
        String namespace_services() default "";

        @AttributeDefinition(name = "Connect timeout (s)", min = "1", max = "300")
        int connect_timeout_seconds() default 5;

        @AttributeDefinition(name = "Read timeout (s)", min = "1", max = "600",
                description = "Longest wait for one response from OpenBao.")
        int read_timeout_seconds() default 10;

        @AttributeDefinition(name = "Retry: attempts", min = "1", max = "20",
                description = "Attempts per call (first included) on connection errors, 5xx, 429 and 412.")
        int retry_max_attempts() default 4;

        @AttributeDefinition(name = "Retry: initial backoff (ms)", min = "1")
        long retry_initial_backoff_ms() default 100;

        @AttributeDefinition(name = "Retry: maximum backoff (ms)", min = "1",
                description = "Backoff doubles per attempt up to this bound, with random jitter.")
        long retry_max_backoff_ms() default 2000;

        @AttributeDefinition(name = "Health probe timeout (ms)", min = "100", max = "5000",
                description = "Bound of health(); never more than 5000.")
        long health_timeout_ms() default 3000;

        @AttributeDefinition(name = "Keystore name",
                description = "Service property keystore.name: stable across upgrades; routes name it.")
        String keystore_name() default DEFAULT_NAME;

        @AttributeDefinition(name = "Tiers", description = "Service property keystore.tiers: L2, L3 and/or L4.")
        String[] keystore_tiers() default {"L2", "L3"};

        @AttributeDefinition(name = "Regions", required = false, description = "Service property keystore.regions.")
        String[] keystore_regions() default {};

        @AttributeDefinition(name = "Service ranking")
        int service_ranking() default 0;

        @AttributeDefinition(name = "Authentication", options = {
                @Option(label = "Token", value = "token"), @Option(label = "AppRole", value = "approle")})
        AuthMethod auth_method() default AuthMethod.token;

        @AttributeDefinition(name = "Token source", required = false,
                description = "For auth.method=token: env:NAME or file:/path holding the token. Never the token.")
        String token_source() default "";

        @AttributeDefinition(name = "AppRole mount", description = "Path of the AppRole auth method.")
        String approle_mount() default "approle";

        @AttributeDefinition(name = "AppRole role id source", required = false,
                description = "For auth.method=approle: env:NAME or file:/path holding the role id.")
        String role_id_source() default "";

        @AttributeDefinition(name = "AppRole secret id source", required = false,
                description = "For auth.method=approle: env:NAME or file:/path holding the secret id. Never the secret.")
        String secret_id_source() default "";

        @AttributeDefinition(name = "Verify TLS", description = "Verify the server certificate. Leave on;"
                + " false is refused unless allow.unverified.tls is set too.")
        boolean tls_verify() default true;

        @AttributeDefinition(name = "CA file", required = false,
                description = "PEM file of the CA certificates to trust; empty for the JVM's trust store.")
        String tls_ca_file() default "";

        @AttributeDefinition(name = "Client certificate file", required = false,
                description = "PEM certificate (chain) for mutual TLS.")
        String tls_client_cert_file() default "";

        @AttributeDefinition(name = "Client key file", required = false,
                description = "PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted) for mutual TLS.")
        String tls_client_key_file() default "";

        @AttributeDefinition(name = "Allow insecure http",
                description = "Accept http:// to a non-loopback address. Leave off outside a lab.")
        boolean allow_insecure_http() default false;

        @AttributeDefinition(name = "Allow unverified TLS",
                description = "Confirms tls.verify=false, which is refused without it. Leave off outside a lab.")
        boolean allow_unverified_tls() default false;
    }

    /*
     * System.Logger rather than the OSGi log: this bundle imports nothing but the api and Bouncy Castle, so it
     * resolves in a framework that has no log service.
     */
    private static final Logger LOG = System.getLogger(OpenBaoKeystoreComponent.class.getName());
    private static final AddressHistory ADDRESSES = new AddressHistory();
    /*
     * ComponentConstants.DEACTIVATION_REASON_CONFIGURATION_DELETED, spelled out so that the bundle
     * does not import org.osgi.service.component for one constant.
     */
    private static final int CONFIGURATION_DELETED = 4;

    private final String pid;
    private final OpenBaoKeystore keystore;

    /**
     * @throws IllegalArgumentException naming the property, if the configuration is refused; SCR
     *         then records the failed activation and no caller can obtain this keystore
     */
    @Activate
    public OpenBaoKeystoreComponent(BundleContext context, Config config, Map<String, Object> properties) {
        OpenBaoSettings settings = OpenBaoSettings.from(config, System::getenv, SecretPolicy.from(context::getProperty));
        this.pid = String.valueOf(properties.get(Constants.SERVICE_PID));
        settings.unverifiedTlsWarning().ifPresent(warning -> LOG.log(Level.WARNING, warning));
        settings.rankingWarning(properties.get(Constants.SERVICE_RANKING))
                .ifPresent(warning -> LOG.log(Level.WARNING, warning));
        // Only an accepted configuration is recorded: a refused update changes nothing.
        ADDRESSES.accept(pid, settings.addressesShown()).ifPresent(change -> LOG.log(Level.WARNING, change));
        this.keystore = new OpenBaoKeystore(settings);
    }

    @Deactivate
    void deactivate(int reason) {
        if (reason == CONFIGURATION_DELETED) {
            ADDRESSES.forget(pid);
        }
        keystore.close();
    }

    @Override
    public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        keystore.storeKey(id, sealed, metadata);
    }

    @Override
    public StoredKey retrieveKey(KeyId id) {
        return keystore.retrieveKey(id);
    }

    @Override
    public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
        return keystore.updateKeyMetadata(id, metadata);
    }

    @Override
    public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
        keystore.rewrapKey(id, sealed, expectedRevision);
    }

    @Override
    public boolean deleteKey(KeyId id) {
        return keystore.deleteKey(id);
    }

    @Override
    public KeyPage listKeys(KeyFilter filter) {
        return keystore.listKeys(filter);
    }

    @Override
    public KeystoreHealth health() {
        return keystore.health();
    }

    @Override
    public String toString() {
        return keystore.toString();
    }
}
