package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

/**
 * The operator's allow-list of secret sources in a real Felix: with {@code openkcm.secrets.dir} set
 * as a framework property, an OpenBao configuration whose token comes from a variable outside the
 * allowed prefix is refused by Declarative Services (FAILED_ACTIVATION with the rule; no Keystore can
 * be obtained from the registration SCR keeps, which the router lists as UNAVAILABLE), and its route
 * refuses keys with the rule; nothing is stored elsewhere. A token file in the allowed folder then
 * gives a keystore (down, since no server listens at its address).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class SecretAllowListIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() throws IOException {
        // the OpenBao bundle only: the configuration below is refused before any server is needed
        Path secrets = Files.createTempDirectory("openkcm-itest-secrets");
        Files.writeString(secrets.resolve("bao-token"), "a-token-nobody-checks\n");
        return options(routingConfiguration(), bouncyCastle(), bundle(OpenBaoDevServer.bundleFile().toURI().toString()),
                frameworkProperty("openkcm.secrets.dir").value(secrets.toString()));
    }

    @Test
    public void aTokenFromOutsideTheAllowListIsRefusedAndNoKeystoreCanBeObtained() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        Keystore memory = awaitKeystore("memory");
        Map<String, Object> bao = new HashMap<>();
        bao.put("address", "http://127.0.0.1:1");
        bao.put("token.source", "env:PATH");
        bao.put("keystore.name", "openbao");
        bao.put("keystore.tiers", new String[] {"L2"});
        org.osgi.service.cm.Configuration configuration =
                configurationAdmin.getFactoryConfiguration("org.openkcm.keystore.openbao", "main", "?");
        configuration.update(dictionary(bao));
        route("l2-to-openbao", Map.of("tiers", new String[] {"L2"}, "target", "openbao"));
        awaitRoute(admin, "l2-to-openbao", "openbao");

        String rule = "token.source = 'env:PATH' is not an allowed secret source: an environment variable must be"
                + " named OPENKCM_SECRET_…, the prefix the operator allowed (openkcm.secrets.env.prefix)";
        assertRefusedBackend(() -> openBaoComponentConfiguration(configuration), "openbao", rule);
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> ops.generate(spec("k2", KeyType.L2, Owner.tenant("acme"), null)));
        assertTrue(e.getMessage(), e.getMessage().contains("backend openbao for L2 is not available: its configuration"
                + " failed: " + rule));
        assertEquals("the registration SCR keeps is listed as unusable", BackendStatus.State.UNAVAILABLE,
                state(admin, "openbao"));
        assertEquals("nothing fell through to another backend", 0, memory.listKeys(KeyFilter.all()).keys().size());

        // a token file in the allowed folder: the configuration is accepted and the keystore can be obtained
        String allowed = "file:" + Path.of(bundleContext.getProperty("openkcm.secrets.dir"), "bao-token");
        bao.put("token.source", allowed);
        configuration.update(dictionary(bao));
        Keystore openbao = awaitActivated(() -> openBaoComponentConfiguration(configuration), "token.source", allowed,
                "openbao");
        KeystoreHealth health = openbao.health();
        assertFalse("no server listens there", health.isUp());
        assertTrue(health.toString(), health.reason().orElseThrow().contains("OpenBao at http://127.0.0.1:1 is unreachable"));
    }
}
