package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.util.HashMap;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyMetadata;
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
 * Fail closed in a real Felix: a route to a backend whose configuration Declarative Services
 * refused, and the volatile in-memory default, never take L2/L3 keys; the keys are refused with the
 * backend's own reason and nothing is stored in memory.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class FailClosedIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() {
        // the OpenBao bundle only: its configuration below fails before any server is needed
        return options(routingConfiguration(), bouncyCastle(), bundle(OpenBaoDevServer.bundleFile().toURI().toString()));
    }

    private static int held(Keystore keystore) {
        return keystore.listKeys(KeyFilter.all()).keys().size();
    }

    @Test
    public void aRouteToAnOpenBaoBackendWhoseConfigurationFailedRefusesItsKeys() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations ops = operations();
        Keystore memory = awaitKeystore("memory");
        Map<String, Object> bao = new HashMap<>();
        bao.put("address", "http://127.0.0.1:1");
        bao.put("token.source", "env:OPENKCM_SECRET_ITEST_TOKEN_THAT_IS_NOT_SET");
        bao.put("keystore.name", "openbao");
        bao.put("keystore.tiers", new String[] {"L2", "L3"});
        configurationAdmin.getFactoryConfiguration("org.openkcm.keystore.openbao", "main", "?").update(dictionary(bao));
        route("l2-l3-to-openbao", Map.of("tiers", new String[] {"L2", "L3"}, "target", "openbao"));
        awaitRoute(administration(), "l2-l3-to-openbao", "openbao");

        for (KeyType tier : new KeyType[] {KeyType.L2, KeyType.L3}) {
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> ops.generate(spec("k-" + tier, tier, Owner.tenant("acme"), null)));
            assertTrue(e.getMessage(), e.getMessage().contains("backend openbao for " + tier + " is not available: "
                    + "its configuration failed: token.source: environment variable "
                    + "OPENKCM_SECRET_ITEST_TOKEN_THAT_IS_NOT_SET is not set"));
        }
        assertEquals("nothing fell through to the default target", 0, held(memory));
        KeyMetadata l4 = ops.generate(spec("k-l4", KeyType.L4, Owner.tenant("acme"), null));
        assertEquals(l4, memory.retrieveKey(l4.id()).metadata());
    }

    @Test
    public void aRouteToAMemoryInstanceThatFailedToActivateRefusesItsKeys() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations ops = operations();
        Keystore memory = awaitKeystore("memory");
        configureMemoryKeystore("vault", Map.of("keystore.name", "vault", "maxEntries", 0));
        route("l3-to-vault", Map.of("tiers", new String[] {"L3"}, "target", "vault"));
        awaitRoute(administration(), "l3-to-vault", "vault");

        UnavailableException e = assertThrows(UnavailableException.class,
                () -> ops.generate(spec("k3", KeyType.L3, Owner.tenant("acme"), null)));
        assertTrue(e.getMessage(), e.getMessage().contains("backend vault for L3 is not available: its configuration "
                + "failed: "));
        assertTrue(e.getMessage(), e.getMessage().contains("maxEntries"));
        assertEquals(0, held(memory));
    }

    @Test
    public void theVolatileDefaultTakesL4ButRefusesL2AndL3UnlessARouteNamesIt() throws Exception {
        memoryBackend("memory", 0);
        KeystoreOperations ops = operations();
        Keystore memory = awaitKeystore("memory");
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> ops.generate(spec("k2", KeyType.L2, Owner.tenant("acme"), null)));
        assertTrue(e.getMessage(), e.getMessage().contains("backend memory for L2 is not available: it is the default "
                + "target and volatile (keystore.persistent=false)"));
        assertEquals(0, held(memory));
        ops.generate(spec("k4", KeyType.L4, Owner.tenant("acme"), null));
        assertEquals(1, held(memory));

        route("l2-l3-to-memory", Map.of("tiers", new String[] {"L2", "L3"}, "target", "memory"));
        awaitRoute(administration(), "l2-l3-to-memory", "memory");
        ops.generate(spec("k2", KeyType.L2, Owner.tenant("acme"), null));
        assertEquals(2, held(memory));
    }
}
