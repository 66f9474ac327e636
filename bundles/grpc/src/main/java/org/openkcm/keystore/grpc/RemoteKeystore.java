package org.openkcm.keystore.grpc;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;

import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.audit.AuditLog;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The keystore of a running daemon, reached over gRPC: while configured, registers
 * {@link KeystoreOperations} and {@link KeystoreAdministration} services that carry each call to
 * the daemon's KeyService and AdminService ({@link RemoteOperations}, {@link RemoteAdministration}),
 * so that the keystore shell commands, unchanged, administer that daemon: the same commands, the
 * same tables, the same failures. It is what {@code bin/keystore -c} uses when a daemon holds the
 * home (or with {@code --connect}); the daemon's own runtime never configures it.
 * <p>
 * It also registers {@link DaemonAudit} as the {@link AuditLog} the commands require: the daemon
 * audits every call it receives, and fails a call whose record it cannot write.
 * <p>
 * Activation asks the daemon's health service once: a daemon that is not there fails the
 * activation with one line saying so, rather than every command later.
 */
@Component(name = RemoteKeystore.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = {})
@Designate(ocd = RemoteKeystore.Config.class)
public final class RemoteKeystore {
    public static final String PID = "org.openkcm.keystore.grpc.remote";
    /** The service property that marks the services as a daemon's, reached remotely: its target. */
    public static final String REMOTE_PROPERTY = "openkcm.keystore.remote";

    @ObjectClassDefinition(name = "OpenKCM Keystore: a running daemon, over gRPC",
            description = "Serves KeystoreOperations and KeystoreAdministration of a keystore daemon reached over"
                    + " mutual TLS, for the shell commands.")
    public @interface Config {
        @AttributeDefinition(name = "Target", description = "HOST:PORT of the daemon's gRPC server.")
        String target();

        @AttributeDefinition(name = "TLS folder",
                description = "The daemon's data/tls/: ca.pem, and the client certificate below.")
        String tls_directory();

        @AttributeDefinition(name = "Client certificate", description = "PEM file in the TLS folder.")
        String tls_certificate() default LocalCertificateAuthority.ADMIN_CERTIFICATE;

        @AttributeDefinition(name = "Client key", description = "PEM PKCS#8 file in the TLS folder.")
        String tls_key() default LocalCertificateAuthority.ADMIN_KEY;

        @AttributeDefinition(name = "Connect timeout (seconds)")
        int connect_timeout_seconds() default 10;

        @AttributeDefinition(name = "Call timeout (seconds)",
                description = "The deadline of one call (a migration or re-wrap of many keys included).")
        int call_timeout_seconds() default 600;
    }

    private DaemonChannel daemon;
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext context, Config config) throws IOException {
        Path tls = Path.of(config.tls_directory().trim());
        daemon = DaemonChannel.connect(config.target(), tls.resolve(config.tls_certificate()),
                tls.resolve(config.tls_key()), tls.resolve(LocalCertificateAuthority.CA_CERTIFICATE),
                Duration.ofSeconds(Math.max(1, config.connect_timeout_seconds())),
                Duration.ofSeconds(Math.max(1, config.call_timeout_seconds())));
        ListedLocations locations = new ListedLocations(daemon);
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(REMOTE_PROPERTY, daemon.target());
        // The audit log first: the shell's commands bind it only if it is there when they activate.
        registrations.add(context.registerService(AuditLog.class, new DaemonAudit(), properties));
        registrations.add(context.registerService(KeystoreAdministration.class,
                new RemoteAdministration(daemon, locations), properties));
        registrations.add(context.registerService(KeystoreOperations.class, new RemoteOperations(daemon, locations),
                properties));
    }

    @Deactivate
    void deactivate() {
        for (ServiceRegistration<?> registration : registrations) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
        }
        registrations.clear();
        daemon.close();
    }
}
