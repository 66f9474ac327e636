package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.util.HashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
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
 * allowed prefix is refused by Declarative Services, registers no Keystore, and its route refuses
 * keys with the rule; nothing is stored elsewhere.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class SecretAllowListIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() {
        // the OpenBao bundle only: the configuration below is refused before any server is needed
        return options(routingConfiguration(), bouncyCastle(), bundle(OpenBaoDevServer.bundleFile().toURI().toString()),
                frameworkProperty("openkcm.secrets.dir").value("/run/openkcm-itest-secrets"));
    }

    @Test
    public void aTokenFromOutsideTheAllowListIsRefusedAndTheBackendDoesNotRegister() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations ops = operations();
        Keystore memory = awaitKeystore("memory");
        Map<String, Object> bao = new HashMap<>();
        bao.put("address", "http://127.0.0.1:1");
        bao.put("token.source", "env:PATH");
        bao.put("keystore.name", "openbao");
        bao.put("keystore.tiers", new String[] {"L2"});
        configurationAdmin.getFactoryConfiguration("org.openkcm.keystore.openbao", "main", "?").update(dictionary(bao));
        route("l2-to-openbao", Map.of("tiers", new String[] {"L2"}, "target", "openbao"));
        awaitRoute(administration(), "l2-to-openbao", "openbao");

        UnavailableException e = assertThrows(UnavailableException.class,
                () -> ops.generate(spec("k2", KeyType.L2, Owner.tenant("acme"), null)));
        assertTrue(e.getMessage(), e.getMessage().contains("backend openbao for L2 is not available: its configuration"
                + " failed: token.source = 'env:PATH' is not an allowed secret source: an environment variable must be"
                + " named OPENKCM_SECRET_…, the prefix the operator allowed (openkcm.secrets.env.prefix)"));
        assertTrue("no Keystore named openbao is registered", keystoreReferences("openbao").isEmpty());
        assertEquals("nothing fell through to another backend", 0, memory.listKeys(KeyFilter.all()).keys().size());
    }
}
