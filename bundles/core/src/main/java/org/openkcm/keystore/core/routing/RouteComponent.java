package org.openkcm.keystore.core.routing;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreProperties;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One route of the routing policy: an instance of the factory PID {@value #PID} (a {@code .cfg}
 * file {@code org.openkcm.keystore.route-<name>.cfg}, a {@code config.yaml} entry or
 * {@code OPENKCM__ROUTE__<NAME>__…} variables). The {@link BackendTracker} collects every route and
 * checks the policy as a whole; a route whose values break a rule is refused with its error, and
 * the policy in force stays as it was.
 */
@Component(name = RouteComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = RouteComponent.class)
@Designate(ocd = RouteComponent.Config.class, factory = true)
public final class RouteComponent {
    public static final String PID = "org.openkcm.keystore.route";

    @ObjectClassDefinition(name = "OpenKCM Keystore route",
            description = "Sends the keys that meet every criterion set here to one backend (keystore.name). "
                    + "Of the routes that match a key, the most specific wins (tiers 1, ownerKind 1, ownerId 2 or "
                    + "ownerIdPrefix 1, region 1), then the highest priority. Applies to new keys at once; stored "
                    + "keys stay where they are until migrated.")
    public @interface Config {
        @AttributeDefinition(name = "Tiers", description = "L2, L3 and/or L4; empty: every tier.", required = false,
                options = {@Option(label = "L2", value = "L2"), @Option(label = "L3", value = "L3"),
                        @Option(label = "L4", value = "L4")})
        String[] tiers() default {};

        @AttributeDefinition(name = "Owner kind", description = "TENANT, SERVICE or NODE; empty: any.", required = false)
        String ownerKind() default "";

        @AttributeDefinition(name = "Owner id", description = "Exactly this owner id; empty: any.", required = false)
        String ownerId() default "";

        @AttributeDefinition(name = "Owner id prefix", description = "Owner ids that start with this; empty: any. "
                + "Not together with ownerId.", required = false)
        String ownerIdPrefix() default "";

        @AttributeDefinition(name = "Region", description = "Keys of this region; empty: any.", required = false)
        String region() default "";

        @AttributeDefinition(name = "Priority", description = "Breaks ties between routes of equal specificity: "
                + "the higher wins.", required = false)
        int priority() default 0;

        @AttributeDefinition(name = "Target", description = "The keystore.name of the backend the keys go to.")
        String target();
    }

    private volatile Route route;
    private volatile String error;
    private volatile String name;
    private volatile Set<KeyType> tiers = EnumSet.allOf(KeyType.class);

    @Activate
    @Modified
    void configure(Config config, Map<String, Object> properties) {
        name = nameOf(properties);
        tiers = tiersNamed(config.tiers());
        try {
            route = Route.of(name, config.tiers(), config.ownerKind(), config.ownerId(), config.ownerIdPrefix(),
                    config.region(), config.priority(), config.target());
            error = null;
        } catch (IllegalArgumentException e) {
            route = null;
            error = e.getMessage();
        }
    }

    /** The route, or null if its configuration was refused (see {@link #error()}). */
    Route route() {
        return route;
    }

    String error() {
        return error;
    }

    /** The tiers the configuration names, as far as they can be read; every tier if it names none it can. */
    Set<KeyType> tiers() {
        return tiers;
    }

    static Set<KeyType> tiersNamed(String[] values) {
        Set<KeyType> named = EnumSet.noneOf(KeyType.class);
        for (String tier : KeystoreProperties.values(values)) {
            for (KeyType type : KeyType.values()) {
                if (type.name().equals(tier.toUpperCase(Locale.ROOT))) {
                    named.add(type);
                }
            }
        }
        return named.isEmpty() ? EnumSet.allOf(KeyType.class) : named;
    }

    String name() {
        return name;
    }

    /** The instance name of the factory configuration ({@code org.openkcm.keystore.route~l4} is {@code l4}). */
    static String nameOf(Map<String, Object> properties) {
        Object pid = properties.get("service.pid");
        String s = pid == null ? String.valueOf(properties.get("component.id")) : pid.toString();
        int tilde = s.indexOf('~');
        if (tilde >= 0) {
            return s.substring(tilde + 1);
        }
        return s.startsWith(PID + ".") ? s.substring(PID.length() + 1) : s;
    }
}
