package org.openkcm.keystore.openbao;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Map;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One OpenBao-backed {@link Keystore} per factory configuration, that is per OpenBao cluster.
 * <p>
 * The configuration is validated in full before anything is registered: a refused configuration
 * (a plain secret where a reference belongs, {@code http://} to a remote host, a bad address…)
 * fails activation with a message naming the property, and no {@code Keystore} service appears.
 * That is why the service is registered here rather than declared: a declared service of an
 * immediate component is registered before activation and would linger, unusable, after a
 * refused configuration. The server itself is not needed at activation; while it cannot be
 * reached, the keystore reports itself down through {@link Keystore#health()}.
 */
@Component(name = OpenBaoKeystoreComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = {})
@Designate(ocd = OpenBaoKeystoreComponent.Config.class, factory = true)
public final class OpenBaoKeystoreComponent {
    /** The factory PID: one configuration per OpenBao cluster. */
    public static final String PID = "org.openkcm.keystore.openbao";

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
        String keystore_name() default "openbao";

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
    private final ServiceRegistration<Keystore> registration;

    /**
     * @throws IllegalArgumentException naming the property, if the configuration is refused; no
     *         service is registered then
     */
    @Activate
    public OpenBaoKeystoreComponent(BundleContext context, Config config, Map<String, Object> properties) {
        OpenBaoSettings settings = OpenBaoSettings.from(config, System::getenv, SecretPolicy.from(context::getProperty));
        this.pid = String.valueOf(properties.get(Constants.SERVICE_PID));
        settings.unverifiedTlsWarning().ifPresent(warning -> LOG.log(Level.WARNING, warning));
        // Only an accepted configuration is recorded: a refused update changes nothing.
        ADDRESSES.accept(pid, settings.addressesShown()).ifPresent(change -> LOG.log(Level.WARNING, change));
        OpenBaoKeystore created = new OpenBaoKeystore(settings);
        try {
            this.registration = context.registerService(Keystore.class, created, settings.serviceProperties());
        } catch (RuntimeException e) {
            created.close();
            throw e;
        }
        this.keystore = created;
    }

    @Deactivate
    void deactivate(int reason) {
        if (reason == CONFIGURATION_DELETED) {
            ADDRESSES.forget(pid);
        }
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The framework unregisters a stopping bundle's services itself.
        }
        keystore.close();
    }
}
