package org.openkcm.keystore.kek.transit;

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
 * A KEK ring sealed at rest by an OpenBao Transit key: the ring file holds each KEK version as a
 * Transit ciphertext, unsealed once when the component activates (or is modified). Idle until a
 * configuration exists; the service carries {@code kek.id}.
 */
@Component(name = TransitKekProvider.PID, service = KekProvider.class, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true)
@Designate(ocd = TransitKekProvider.Config.class, factory = false)
public final class TransitKekProvider extends RootSealedKekProvider {
    public static final String PID = "org.openkcm.keystore.kek.transit";

    @ObjectClassDefinition(name = "OpenKCM Keystore KEK: OpenBao Transit",
            description = "A KEK ring sealed at rest by an OpenBao Transit key (auto-unseal): unsealed once at start,"
                    + " then every wrap is local. The Transit key never leaves OpenBao.")
    public @interface Config {
        @AttributeDefinition(name = "KEK id", description = "Recorded in every sealed record; keep it stable.")
        String kek_id() default "transit";

        @AttributeDefinition(name = "Address", description = "The OpenBao server, e.g. https://openbao.example:8200.")
        String address();

        @AttributeDefinition(name = "Transit mount", description = "The path the Transit engine is mounted at.")
        String mount() default "transit";

        @AttributeDefinition(name = "Transit key", description = "The name of the Transit key that seals the ring (it must exist).")
        String key_name() default "openkcm-keystore";

        @AttributeDefinition(name = "Namespace", description = "OpenBao namespace of the mount; empty for the root namespace.")
        String namespace() default "";

        @AttributeDefinition(name = "Token reference",
                description = "env:NAME or file:/path of the token (never the token itself).")
        String token_source();

        @AttributeDefinition(name = "CA file", description = "PEM CA certificates that verify an https:// address; empty: the JDK's trust store.")
        String tls_ca_file() default "";

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

        @AttributeDefinition(name = "Timeout (seconds)", description = "Connect and request timeout of each call to OpenBao.")
        int timeout_seconds() default 10;

        @AttributeDefinition(name = "Reload marker",
                description = "Change it to unseal the ring again (e.g. after a Transit key rotation, to rewrap the ring).")
        String reload() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    @Activate
    void activate(Config config) {
        load(TransitSettings.from(config, System::getProperty), System::getenv);
    }

    @Modified
    void modified(Config config) {
        activate(config);
    }

    @Deactivate
    void deactivate() {
        unload();
    }

    /** Unseals the ring through Transit; the token is read now and wiped when the ring is loaded. */
    void load(TransitSettings settings, java.util.function.UnaryOperator<String> environment) {
        TransitClient client = new TransitClient(settings, settings.token.read(environment));
        try {
            load(settings.ring, new TransitRootKey(client, settings));
        } finally {
            client.close();
        }
    }

    @Override
    protected Logger logger() {
        return logger;
    }
}
