package org.openkcm.keystore.kek.pkcs11;

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
 * A KEK ring sealed at rest by an AES key in a PKCS#11 token (an HSM, SoftHSM2): unsealed once
 * when the component activates, through the JDK's SunPKCS11 provider; then the session is logged
 * out and every wrap is local. Idle until a configuration exists.
 */
@Component(name = Pkcs11KekProvider.PID, service = KekProvider.class, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true)
@Designate(ocd = Pkcs11KekProvider.Config.class)
public final class Pkcs11KekProvider extends RootSealedKekProvider {
    public static final String PID = "org.openkcm.keystore.kek.pkcs11";

    @ObjectClassDefinition(name = "OpenKCM Keystore KEK: PKCS#11 token",
            description = "A KEK ring sealed at rest by an AES key in a PKCS#11 token (HSM) with AES-GCM: unsealed once at"
                    + " start, then every wrap is local. The token key never leaves the token.")
    public @interface Config {
        @AttributeDefinition(name = "KEK id", description = "Recorded in every sealed record; keep it stable.")
        String kek_id() default "pkcs11";

        @AttributeDefinition(name = "PKCS#11 module", description = "Absolute path of the token's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so.")
        String library();

        @AttributeDefinition(name = "Slot id", description = "The token's slot id; -1: use slot.list.index.")
        long slot() default -1;

        @AttributeDefinition(name = "Slot list index", description = "Index in the module's slot list when slot is not set; -1 with slot unset: 0.")
        int slot_list_index() default -1;

        @AttributeDefinition(name = "PIN reference", description = "env:NAME or file:/path of the user PIN (never the PIN itself).")
        String pin_source();

        @AttributeDefinition(name = "Key label", description = "The label of the AES-256 key in the token that seals the ring.")
        String key_label() default "openkcm-keystore";

        @AttributeDefinition(name = "Create the token key",
                description = "Generate the AES-256 key in the token (sensitive, not extractable) if no key has the label.")
        boolean create_key() default false;

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
        load(Pkcs11Settings.from(config, System::getProperty), System::getenv);
    }

    @Modified
    void modified(Config config) {
        activate(config);
    }

    @Deactivate
    void deactivate() {
        unload();
    }

    /** Unseals the ring in the token; the PIN is read now and wiped, the session logged out after. */
    void load(Pkcs11Settings settings, UnaryOperator<String> environment) {
        char[] pin = settings.pin.read(environment);
        try (Pkcs11RootKey root = new Pkcs11RootKey(settings, settings.ring.kekId(), pin)) {
            load(settings.ring, root);
        } finally {
            Pkcs11RootKey.wipe(pin);
        }
    }

    @Override
    protected Logger logger() {
        return logger;
    }
}
