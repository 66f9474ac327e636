package org.openkcm.keystore.kek.awskms;

import java.util.function.UnaryOperator;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.kek.common.RootSealedKekProvider;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * A KEK ring sealed at rest by an AWS KMS key: versions made by GenerateDataKey, unsealed with
 * Decrypt once when the component activates; then every wrap is local. Idle until configured.
 */
@Component(name = KmsKekProvider.PID, service = KekProvider.class, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true)
@Designate(ocd = KmsKekProvider.Config.class)
public final class KmsKekProvider extends RootSealedKekProvider {
    public static final String PID = "org.openkcm.keystore.kek.awskms";

    @ObjectClassDefinition(name = "OpenKCM Keystore KEK: AWS KMS",
            description = "A KEK ring sealed at rest by an AWS KMS key (GenerateDataKey, Encrypt, Decrypt with an encryption"
                    + " context): unsealed once at start, then every wrap is local. The KMS key never leaves KMS.")
    public @interface Config {
        @AttributeDefinition(name = "KEK id", description = "Recorded in every sealed record; keep it stable.")
        String kek_id() default "awskms";

        @AttributeDefinition(name = "KMS key", description = "Key id, key ARN, alias/name or alias ARN of a symmetric ENCRYPT_DECRYPT key.")
        String key_id();

        @AttributeDefinition(name = "Region", description = "The AWS region of the key, e.g. eu-central-1.")
        String region();

        @AttributeDefinition(name = "Endpoint", description = "KMS endpoint URL; empty: the region's (set it for a VPC endpoint).")
        String endpoint() default "";

        @AttributeDefinition(name = "Credentials", description = "default: the SDK's default chain (environment, profile,"
                + " container or instance role); static: access.key.id with secret.access.key.source.")
        String credentials() default "default";

        @AttributeDefinition(name = "Access key id", description = "With credentials = static.")
        String access_key_id() default "";

        @AttributeDefinition(name = "Secret access key reference", description = "env:NAME or file:/path (never the secret itself).")
        String secret_access_key_source() default "";

        @AttributeDefinition(name = "Session token reference", description = "env:NAME or file:/path; empty: none.")
        String session_token_source() default "";

        @AttributeDefinition(name = "Timeout (seconds)", description = "Connect and read timeout of each call to KMS.")
        int timeout_seconds() default 10;

        @AttributeDefinition(name = "Ring file",
                description = "The sealed KEK ring. Empty: ${openkcm.home}/data/kek/<kek.id>.ring (or ${karaf.data}/openkcm/kek/).")
        String ring_file() default "";

        @AttributeDefinition(name = "Create when absent", description = "Start a new ring if the ring file does not exist.")
        boolean create() default true;

        @AttributeDefinition(name = "KEK versions",
                description = "How many KEK versions the ring holds at least; raise by one to rotate the KEK (the newest seals).")
        int kek_versions() default 1;

        @AttributeDefinition(name = "Data-key wrap",
                description = "How new data keys are wrapped: 'gcm' (AES-256-GCM, the default) or 'kw' (AES Key Wrap, "
                        + "RFC 3394, as before the GCM wrap). Both always unwrap. Set 'kw' until every runtime that "
                        + "shares the backends is upgraded: an older runtime cannot open a GCM-wrapped record.")
        String wrap() default "gcm";

        @AttributeDefinition(name = "Reload marker", description = "Change it to unseal the ring again.")
        String reload() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    @Activate
    void activate(Config config) {
        load(KmsSettings.from(config, System::getProperty), System::getenv);
    }

    @Modified
    void modified(Config config) {
        activate(config);
    }

    @Deactivate
    void deactivate() {
        unload();
    }

    /** Unseals the ring through KMS; the client is closed once the ring is loaded. */
    void load(KmsSettings settings, UnaryOperator<String> environment) {
        try (KmsRootKey root = new KmsRootKey(settings, KmsRootKey.credentials(settings, environment))) {
            load(settings.ring, root);
        }
    }

    @Override
    protected Logger logger() {
        return logger;
    }
}
