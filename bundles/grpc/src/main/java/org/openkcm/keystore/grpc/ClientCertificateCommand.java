package org.openkcm.keystore.grpc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.security.auth.x500.X500Principal;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.openkcm.keystore.api.InvalidInputException;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code keystore:grpcclient}: issues an application a client certificate of the local CA and
 * writes its grant. The grant is checked first, so a bad one writes nothing. In the runtime the
 * grant becomes a file in the watched config folder ({@code config/org.openkcm.keystore.grpc.client-<name>.cfg},
 * kept across restarts and edited like any other); elsewhere (Karaf) a ConfigAdmin factory
 * configuration.
 */
@Component(service = ClientCertificateCommand.class, property = {"osgi.command.scope=keystore",
        "osgi.command.function=grpcclient"})
public final class ClientCertificateCommand {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    @Reference
    private GrpcServerComponent server;

    @Reference
    private ConfigurationAdmin configurationAdmin;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("issue a gRPC client certificate (data/tls/clients/<name>.pem and .key) and grant it the owners,"
            + " tiers and operation classes given")
    public String grpcclient(
            @Descriptor("owners: tenant:acme, tenant:acme-*, service:*, or * (comma-separated)")
            @Parameter(names = "--owners", absentValue = "") String owners,
            @Descriptor("tiers: L2,L3,L4") @Parameter(names = "--tiers", absentValue = "L2,L3,L4") String tiers,
            @Descriptor("classes: material,metadata,lifecycle,admin")
            @Parameter(names = "--classes", absentValue = "") String classes,
            @Descriptor("the application's name (the certificate's CN)") String name)
            throws IOException, GeneralSecurityException {
        if (!NAME.matcher(name).matches()) {
            throw new InvalidInputException("name", "must be 1 to 64 letters, digits, '.', '_' or '-'");
        }
        X500Principal subject = new X500Principal("CN=" + name + ",O=OpenKCM Keystore clients");
        String[] ownerList = split(owners);
        String[] tierList = split(tiers);
        String[] classList = split(classes);
        ClientGrant.parse(name, subject.getName(), "", ownerList, tierList, classList);

        LocalCertificateAuthority authority = LocalCertificateAuthority.open(server.tlsFolder());
        Path folder = server.tlsFolder().resolve(LocalCertificateAuthority.CLIENTS);
        LocalCertificateAuthority.createFolder(folder);
        Path certificate = folder.resolve(name + ".pem");
        Path key = folder.resolve(name + ".key");
        authority.issueClient(subject, certificate, key);
        String grant = writeGrant(name, subject, ownerList, tierList, classList);
        return "issued " + certificate + " and " + key + " (subject " + subject.getName() + ", CA "
                + server.tlsFolder().resolve(LocalCertificateAuthority.CA_CERTIFICATE) + "); grant " + grant;
    }

    private String writeGrant(String name, X500Principal subject, String[] owners, String[] tiers, String[] classes)
            throws IOException {
        String watched = context.getProperty("felix.fileinstall.dir");
        if (watched != null && !watched.isBlank()) {
            Path file = Path.of(watched.split(",")[0].trim()).resolve(ClientGrantComponent.PID + "-" + name + ".cfg");
            String text = "# Written by keystore:grpcclient " + name + "\n"
                    + "subject = \"" + subject.getName().replace("\"", "\\\"") + "\"\n"
                    + "owners = " + list(owners) + "\ntiers = " + list(tiers) + "\nclasses = " + list(classes) + "\n";
            Files.writeString(file, text, StandardCharsets.UTF_8);
            return file.toString();
        }
        Configuration configuration = configurationAdmin.getFactoryConfiguration(ClientGrantComponent.PID, name, "?");
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put("subject", subject.getName());
        properties.put("owners", owners);
        properties.put("tiers", tiers);
        properties.put("classes", classes);
        configuration.update(properties);
        return configuration.getPid();
    }

    private static String[] split(String text) {
        return Arrays.stream(text.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toArray(String[]::new);
    }

    private static String list(String[] values) {
        return Arrays.stream(values).map(v -> "\"" + v.replace("\"", "\\\"") + "\"")
                .collect(Collectors.joining(", ", "[ ", " ]"));
    }
}
