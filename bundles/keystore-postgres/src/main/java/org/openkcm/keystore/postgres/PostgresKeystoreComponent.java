package org.openkcm.keystore.postgres;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.secrets.SecretPolicy;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.jdbc.DataSourceFactory;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One PostgreSQL-backed {@link Keystore} per factory configuration of {@value #PID}.
 * <p>
 * The connections come from the OSGi JDBC {@link DataSourceFactory} that the pgjdbc bundle
 * registers (target {@value #DRIVER_FILTER}; a configuration may narrow it with
 * {@code DataSourceFactory.target}); the driver class is never loaded by name. Its plain
 * DataSource is pooled by HikariCP.
 * <p>
 * The configuration is validated in full before anything is registered: a refused configuration
 * (a plain password where a reference belongs, a password in the URL, a bad schema name…) fails
 * activation with a message naming the property, and no {@code Keystore} service appears; that is
 * why the service is registered here rather than declared. The database is not needed at
 * activation: the schema is created or migrated at the first call that reaches the server, and
 * while it cannot be reached calls fail as unavailable and {@link Keystore#health()} says why.
 */
@Component(name = PostgresKeystoreComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = {})
@Designate(ocd = PostgresKeystoreComponent.Config.class, factory = true)
public final class PostgresKeystoreComponent {
    /** The factory PID: one configuration per database (and schema). */
    public static final String PID = "org.openkcm.keystore.postgres";
    /** The DataSourceFactory this component uses unless its configuration says otherwise. */
    public static final String DRIVER_FILTER = "(osgi.jdbc.driver.class=org.postgresql.Driver)";

    @ObjectClassDefinition(name = "OpenKCM Keystore: PostgreSQL backend",
            description = "A Keystore backend in a PostgreSQL database, one configuration per database schema."
                    + " The password is a reference (env:NAME or file:/path), never a value.")
    public @interface Config {
        @AttributeDefinition(name = "Keystore name",
                description = "Service property keystore.name: stable across upgrades; routes name it.")
        String keystore_name() default "postgres";

        @AttributeDefinition(name = "Tiers", description = "Service property keystore.tiers: the tiers accepted.",
                options = {
                        @Option(label = "L2 (tenant keys)", value = "L2"),
                        @Option(label = "L3 (service keys)", value = "L3"),
                        @Option(label = "L4 (data keys)", value = "L4")})
        String[] keystore_tiers() default {"L2", "L3", "L4"};

        @AttributeDefinition(name = "Regions", required = false, description = "Service property keystore.regions.")
        String[] keystore_regions() default {};

        @AttributeDefinition(name = "Service ranking")
        int service_ranking() default 0;

        @AttributeDefinition(name = "JDBC URL",
                description = "jdbc:postgresql://host:port/database, optionally with pgjdbc parameters such as"
                        + " ?sslmode=verify-full; never user or password parameters.")
        String url();

        @AttributeDefinition(name = "User", description = "The database role the backend logs in as.")
        String user();

        @AttributeDefinition(name = "Password reference",
                description = "env:NAME or file:/absolute/path holding the password. Never the password.")
        String password_ref();

        @AttributeDefinition(name = "Schema",
                description = "The schema this instance owns and migrates (created if absent): lower-case letters,"
                        + " digits and '_', at most 63 characters.")
        String schema() default "openkcm_keystore";

        @AttributeDefinition(name = "Pool size", min = "1", max = "200",
                description = "Most connections the pool keeps open to the server.")
        int pool_size() default 10;

        @AttributeDefinition(name = "Connect timeout (s)", min = "1", max = "300",
                description = "Longest wait to open a connection, and to get one from the pool.")
        int connect_timeout_seconds() default 5;

        @AttributeDefinition(name = "Statement timeout (s)", min = "1", max = "600",
                description = "Longest a statement may run on the server (statement_timeout), and a response may"
                        + " take to arrive (socket timeout, this plus 5 s).")
        int statement_timeout_seconds() default 10;

        @AttributeDefinition(name = "Health probe timeout (ms)", min = "100", max = "5000",
                description = "Bound of health(); never more than 5000.")
        long health_timeout_ms() default 3000;
    }

    @Reference(target = DRIVER_FILTER)
    private DataSourceFactory dataSourceFactory;

    /** The OSGi log, if there is one: schema migrations are logged (never a record or the password). */
    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL)
    private volatile Logger logger;

    private PostgresKeystore keystore;
    private ServiceRegistration<Keystore> registration;

    /**
     * @throws IllegalArgumentException naming the property, if the configuration is refused; no
     *         service is registered then
     */
    @Activate
    void activate(BundleContext context, Config config) {
        PostgresSettings settings = PostgresSettings.from(config, System::getenv, SecretPolicy.from(context::getProperty));
        PostgresKeystore created = PostgresKeystore.open(dataSourceFactory, settings, message -> {
            Logger current = logger;
            if (current != null) {
                current.info(message);
            }
        });
        try {
            registration = context.registerService(Keystore.class, created, settings.serviceProperties());
        } catch (RuntimeException e) {
            created.close();
            throw e;
        }
        keystore = created;
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The framework unregisters a stopping bundle's services itself.
        }
        keystore.close();
    }
}
