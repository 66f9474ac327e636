package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.kek.awskms.testing.MotoServer;
import org.openkcm.keystore.kek.pkcs11.testing.SoftHsm;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The three KEK provider bundles in a plain Felix with SCR and ConfigAdmin: they resolve with the
 * api and the framework's packages alone (the AWS SDK embedded), stay idle without configuration,
 * and a configuration under their PID brings up a working {@link KekProvider}: Transit against a
 * real OpenBao dev server, PKCS#11 against a SoftHSM2 token, AWS KMS against moto on loopback (all
 * set up outside the framework by the configuration method). A refused configuration yields no provider and says why.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KekProvidersIT extends KeystoreTestSupport {
    private static final String[] BSNS = {"org.openkcm.keystore.kek-transit", "org.openkcm.keystore.kek-pkcs11",
            "org.openkcm.keystore.kek-awskms"};

    /** Pax Exam may call the configuration method more than once: the servers are set up once. */
    private static Option[] options;

    @Configuration
    public synchronized Option[] configuration() throws Exception {
        if (options == null) {
            options = startServers();
        }
        return options;
    }

    private static Option[] startServers() throws Exception {
        File openbaoBundle = OpenBaoDevServer.bundleFile();
        OpenBaoDevServer bao = OpenBaoDevServer.start(openbaoBundle.toPath().getParent());
        TransitKeys.create(bao, "kek-itest", "itest-root");
        String token = Files.readString(bao.tokenFile).strip();
        Path dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "kek-itest");
        // the allow-list is on: dir is the secrets folder, and KEK providers' secrets are under its kek/
        Path kekSecrets = Files.createDirectories(dir.resolve("kek"));
        Path tokenFile = secretFile(kekSecrets.resolve("bao-token"), token);
        MotoServer moto = MotoServer.start();
        String pin = "itest-" + ProcessHandle.current().pid();
        long slot = SoftHsm.initToken("openkcm-itest", pin);
        return options(
                baseConfiguration(),
                buildBundle("log"),
                buildBundle("kek-transit"),
                buildBundle("kek-pkcs11"),
                buildBundle("kek-awskms"),
                systemProperty("itest.kek.dir").value(dir.toString()),
                frameworkProperty("openkcm.secrets.dir").value(dir.toString()),
                // the KEK providers read the allow-list from system properties only
                systemProperty("openkcm.secrets.dir").value(dir.toString()),
                systemProperty("itest.bao.address").value(bao.address),
                systemProperty("itest.bao.token.file").value(tokenFile.toString()),
                systemProperty("itest.pkcs11.slot").value(String.valueOf(slot)),
                systemProperty("itest.pkcs11.pin").value(SoftHsm.pinFile(kekSecrets, pin)),
                systemProperty("itest.pkcs11.module").value(SoftHsm.MODULE.toString()),
                systemProperty("itest.moto.endpoint").value(moto.endpoint.toString()),
                systemProperty("itest.moto.key").value(moto.createKey()),
                systemProperty("itest.moto.secret.file").value(
                        secretFile(kekSecrets.resolve("aws-secret"), MotoServer.SECRET_ACCESS_KEY).toString()));
    }

    private static Path secretFile(Path file, String value) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, value);
        return file;
    }

    @Test
    public void theProvidersResolveWithTheApiAloneAndStayIdleWithoutConfiguration() {
        for (String bsn : BSNS) {
            Bundle bundle = installedBundle(bsn);
            assertEquals(bsn, Bundle.ACTIVE, bundle.getState());
            String imports = bundle.getHeaders().get(Constants.IMPORT_PACKAGE);
            for (String clause : imports.split(",(?=[a-z])")) {
                assertTrue(bsn + " imports " + clause, clause.startsWith("org.openkcm.keystore.api")
                        || clause.startsWith("org.osgi.service.log") || clause.startsWith("javax.")
                        || clause.contains("resolution:=optional"));
            }
        }
        assertEquals("no configuration, no KEK provider of these bundles", 0,
                bundleContextReferences("(|(kek.id=transit)(kek.id=pkcs11)(kek.id=awskms))"));
    }

    @Test
    public void aTransitConfigurationBringsUpAProviderWhoseRingOpenBaoSeals() throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put("address", System.getProperty("itest.bao.address"));
        p.put("mount", "kek-itest");
        p.put("key.name", "itest-root");
        p.put("token.source", "file:" + System.getProperty("itest.bao.token.file"));
        p.put("ring.file", System.getProperty("itest.kek.dir") + "/transit.ring");
        roundTrip("org.openkcm.keystore.kek.transit", "transit", p);
        assertTrue(Files.readString(Path.of(System.getProperty("itest.kek.dir"), "transit.ring")).contains("openkcm-sealed-kek-ring"));
    }

    @Test
    public void aPkcs11ConfigurationBringsUpAProviderWhoseRingTheTokenSeals() throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put("library", System.getProperty("itest.pkcs11.module"));
        p.put("slot", Long.valueOf(System.getProperty("itest.pkcs11.slot")));
        p.put("pin.source", System.getProperty("itest.pkcs11.pin"));
        p.put("create.key", Boolean.TRUE);
        p.put("ring.file", System.getProperty("itest.kek.dir") + "/pkcs11.ring");
        roundTrip("org.openkcm.keystore.kek.pkcs11", "pkcs11", p);
    }

    @Test
    public void anAwsKmsConfigurationBringsUpAProviderThroughTheEmbeddedSdk() throws Exception {
        roundTrip("org.openkcm.keystore.kek.awskms", "awskms", kmsConfiguration());
    }

    @Test
    public void aRefusedConfigurationYieldsNoProviderAndSaysWhy() throws Exception {
        Map<String, Object> p = kmsConfiguration();
        p.put("kek.id", "awskms-refused");
        p.put("secret.access.key.source", MotoServer.SECRET_ACCESS_KEY);
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(
                "org.openkcm.keystore.kek.awskms", "?");
        configuration.update(dictionary(p));
        try {
            awaitCondition("SCR to report the refused configuration", () -> {
                ComponentConfigurationDTO dto = configurationDto("org.openkcm.keystore.kek.awskms");
                return dto != null && dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION;
            });
            String failure = configurationDto("org.openkcm.keystore.kek.awskms").failure;
            assertTrue(failure, failure.contains("secret.access.key.source"));
            assertFalse("the secret is not echoed", failure.contains(MotoServer.SECRET_ACCESS_KEY));
            // Felix SCR leaves the service of a component whose activation failed registered, but it
            // hands out no object for it: nobody can wrap with a refused configuration.
            for (ServiceReference<KekProvider> r : bundleContext.getServiceReferences(KekProvider.class,
                    "(kek.id=awskms-refused)")) {
                assertEquals(null, bundleContext.getService(r));
            }
        } finally {
            configuration.delete();
        }
    }

    private Map<String, Object> kmsConfiguration() {
        Map<String, Object> p = new HashMap<>();
        p.put("key.id", System.getProperty("itest.moto.key"));
        p.put("region", MotoServer.REGION);
        p.put("endpoint", System.getProperty("itest.moto.endpoint"));
        p.put("credentials", "static");
        p.put("access.key.id", MotoServer.ACCESS_KEY_ID);
        p.put("secret.access.key.source", "file:" + System.getProperty("itest.moto.secret.file"));
        p.put("ring.file", System.getProperty("itest.kek.dir") + "/awskms.ring");
        return p;
    }

    private void roundTrip(String pid, String kekId, Map<String, Object> properties) throws Exception {
        org.osgi.service.cm.Configuration configuration = configurationAdmin.getConfiguration(pid, "?");
        configuration.update(dictionary(properties));
        try {
            ServiceReference<KekProvider> reference = awaitRegistration(KekProvider.class, "(kek.id=" + kekId + ")");
            KekProvider provider = awaitService(reference);
            assertEquals(kekId, provider.kekId());
            byte[] dataKey = new byte[KekProvider.DATA_KEY_BYTES];
            dataKey[0] = 7;
            assertArrayEquals(dataKey, provider.unwrap(1, provider.wrap(1, dataKey)));
            assertEquals(KekProvider.MAC_BYTES, provider.mac(1, new byte[] {1}).length);
            bundleContext.ungetService(reference);
        } finally {
            configuration.delete();
        }
        awaitCondition("the provider to leave with its configuration", () -> bundleContextReferences("(kek.id=" + kekId + ")") == 0);
    }

    private int bundleContextReferences(String filter) {
        try {
            return bundleContext.getServiceReferences(KekProvider.class, filter).size();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private ComponentConfigurationDTO configurationDto(String componentName) {
        for (ComponentDescriptionDTO d : serviceComponentRuntime.getComponentDescriptionDTOs()) {
            if (d.name.equals(componentName)) {
                for (ComponentConfigurationDTO c : serviceComponentRuntime.getComponentConfigurationDTOs(d)) {
                    return c;
                }
            }
        }
        return null;
    }
}
