package org.openkcm.keystore.core.kek;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.log.Logs;
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
 * The KEK ring from a reference: an environment variable or a file (e.g. a mounted secret). The
 * configuration names where the ring is, never the ring itself. The text is
 * {@link KekRingText}'s: a single base64 key is version 1; several are
 * {@code 1:<key>,2:<key>}. A referenced file must be owner-only, like the local key file.
 */
@Component(name = ReferenceKekProvider.PID, service = KekProvider.class,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ReferenceKekProvider.Config.class)
public final class ReferenceKekProvider extends RingKekProvider {
    public static final String PID = "org.openkcm.keystore.kek.reference";
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

    @ObjectClassDefinition(name = "OpenKCM Keystore KEK: environment variable or file reference",
            description = "A key-encryption-key ring read from an environment variable or a file that the "
                    + "configuration names. Configure exactly one of env and file.")
    public @interface Config {
        @AttributeDefinition(name = "KEK id",
                description = "Recorded in every sealed record and lifecycle MAC; keep it stable while records are wrapped under it.")
        String kek_id() default "external";

        @AttributeDefinition(name = "Environment variable",
                description = "The name (not the value) of the environment variable that holds the KEK ring.")
        String env() default "";

        @AttributeDefinition(name = "File",
                description = "The path of an owner-only file that holds the KEK ring.")
        String file() default "";

        @AttributeDefinition(name = "Data-key wrap",
                description = "How new data keys are wrapped: 'gcm' (AES-256-GCM, the default) or 'kw' (AES Key Wrap, "
                        + "RFC 3394). Both always unwrap. Set 'kw' until every runtime that shares the backends is "
                        + "upgraded: an older runtime cannot open a GCM-wrapped record.")
        String wrap() default "gcm";

        @AttributeDefinition(name = "Reload marker",
                description = "Change this value to make the provider read the reference again.")
        String reload() default "";
    }

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    public ReferenceKekProvider() {
    }

    /** A provider outside a framework (tests): {@code environment} looks up variables. */
    public static ReferenceKekProvider open(String kekId, String envName, String file, UnaryOperator<String> environment) {
        return open(kekId, envName, file, environment, KekRing.Wrap.GCM);
    }

    /** {@link #open(String, String, String, UnaryOperator)} wrapping new data keys as {@code wrap} says. */
    static ReferenceKekProvider open(String kekId, String envName, String file, UnaryOperator<String> environment,
            KekRing.Wrap wrap) {
        ReferenceKekProvider provider = new ReferenceKekProvider();
        provider.load(kekId, envName, file, environment, wrap);
        return provider;
    }

    @Activate
    void activate(Config config) {
        load(config.kek_id(), config.env(), config.file(), System::getenv, KekRing.Wrap.parse(config.wrap()));
    }

    @Modified
    void modified(Config config) {
        activate(config);
    }

    @Deactivate
    void deactivate() {
        unload();
    }

    void load(String kekId, String envName, String file, UnaryOperator<String> environment, KekRing.Wrap wrap) {
        KekIds.check(kekId);
        boolean hasEnv = envName != null && !envName.isBlank();
        boolean hasFile = file != null && !file.isBlank();
        if (hasEnv == hasFile) {
            throw new InvalidInputException(PID, "configure exactly one of 'env' (the name of an environment variable) "
                    + "or 'file' (the path of an owner-only file)");
        }
        Map<Integer, byte[]> keys;
        String source;
        try {
            if (hasEnv) {
                String name = envName.trim();
                if (!ENV_NAME.matcher(name).matches()) {
                    throw new InvalidInputException(PID + " env", "must be the name of an environment variable "
                            + "(letters, digits and '_', not starting with a digit)");
                }
                source = "environment variable " + name;
                keys = fromEnvironment(name, environment);
            } else {
                Path path = Path.of(file.trim());
                source = "file " + path;
                keys = KekFile.read(path);
            }
        } catch (RuntimeException e) {
            Logs.error(logger, "KEK provider '{}' cannot load: {}", kekId, e.getMessage());
            throw e;
        }
        try {
            KekRing ring = KekRing.of(kekId, keys, wrap);
            install(ring);
            Logs.info(logger, "KEK provider '{}' loaded versions {} from {}; version {} seals", kekId, ring.versions(),
                    source, ring.currentVersion());
        } finally {
            keys.values().forEach(Bytes::wipe);
        }
    }

    private static Map<Integer, byte[]> fromEnvironment(String name, UnaryOperator<String> environment) {
        String value = environment.apply(name);
        if (value == null || value.isBlank()) {
            throw new UnavailableException("the environment variable " + name + " that should hold the KEK ring is not set");
        }
        byte[] text = value.getBytes(StandardCharsets.US_ASCII);
        try {
            return KekRingText.parse(text, "environment variable " + name);
        } finally {
            Bytes.wipe(text);
        }
    }
}
