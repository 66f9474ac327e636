package org.openkcm.keystore.grpc;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One grant per factory configuration of {@value #PID}. A configuration that breaks a rule fails
 * activation with a message naming the attribute, and grants nothing.
 */
@Component(name = ClientGrantComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = ClientGrantComponent.class)
@Designate(ocd = ClientGrantComponent.Config.class, factory = true)
public final class ClientGrantComponent {
    public static final String PID = "org.openkcm.keystore.grpc.client";

    @ObjectClassDefinition(name = "OpenKCM Keystore: gRPC client grant",
            description = "What the gRPC clients whose certificate matches may do: which owners, tiers and operation"
                    + " classes. A client with no matching grant is refused everything (PERMISSION_DENIED).")
    public @interface Config {
        @AttributeDefinition(name = "Certificate subject", required = false,
                description = "The client certificate's subject distinguished name, e.g. CN=app,O=example."
                        + " Set this or the SAN.")
        String subject() default "";

        @AttributeDefinition(name = "Certificate SAN", required = false,
                description = "A subject alternative name (DNS name, URI or e-mail) of the client certificate."
                        + " Set this or the subject.")
        String san() default "";

        @AttributeDefinition(name = "Owners",
                description = "kind:id (one owner), kind:prefix* (every owner of the kind whose id starts with it),"
                        + " kind:* or * (every owner). Kinds: tenant, service, node.")
        String[] owners();

        @AttributeDefinition(name = "Tiers", description = "L2, L3, L4")
        String[] tiers() default {"L2", "L3", "L4"};

        @AttributeDefinition(name = "Operation classes",
                description = "material (read key material), metadata (read metadata, list), lifecycle (create,"
                        + " change, delete), admin (AdminService)")
        String[] classes();
    }

    private ClientGrant grant;

    @Activate
    void activate(Config config, java.util.Map<String, Object> properties) {
        Object name = properties.getOrDefault("service.pid", properties.get("component.name"));
        grant = ClientGrant.parse(String.valueOf(name), config.subject(), config.san(), config.owners(),
                config.tiers(), config.classes());
    }

    ClientGrant grant() {
        return grant;
    }
}
