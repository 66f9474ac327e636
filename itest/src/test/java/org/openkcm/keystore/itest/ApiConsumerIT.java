package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.streamBundle;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.itest.consumer.KeystoreConsumer;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.ops4j.pax.tinybundles.TinyBundles;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.ServiceReference;

/**
 * A bundle that knows only the api package finds the in-memory backend's Keystore and uses it:
 * the plugin contract is all a caller (and so the core) needs. The bundle is built here, its
 * manifest computed by bnd from its byte code, as any real bundle's would be.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ApiConsumerIT extends KeystoreTestSupport {

    private static final String CONSUMER_BSN = "org.openkcm.keystore.itest.consumer";

    @Configuration
    public Option[] configuration() {
        return options(
                baseConfiguration(),
                streamBundle(TinyBundles.bundle()
                        .addClass(KeystoreConsumer.class)
                        .symbolicName(CONSUMER_BSN)
                        .setHeader(Constants.BUNDLE_VERSION, "1.0.0")
                        // as the project's bnd.bnd: java.* comes from the boot class path, never imported
                        .setHeader("-noimportjava", "true")
                        .build(TinyBundles.bndBuilder())));
    }

    @Test
    public void aBundleImportingOnlyTheApiFindsAndUsesTheKeystore() throws Exception {
        Bundle consumer = installedBundle(CONSUMER_BSN);
        assertEquals(Bundle.ACTIVE, consumer.getState());
        assertEquals("the consumer must import the api package and nothing else",
                List.of("org.openkcm.keystore.api"), packageNames(consumer.getHeaders().get(Constants.IMPORT_PACKAGE)));
        assertNull(consumer.getHeaders().get(Constants.REQUIRE_BUNDLE));
        assertNull(consumer.getHeaders().get(Constants.DYNAMICIMPORT_PACKAGE));
        List<BundleWire> wires = consumer.adapt(BundleWiring.class).getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE);
        assertEquals(1, wires.size());
        assertEquals(API_BSN, wires.get(0).getProvider().getBundle().getSymbolicName());

        String consumerFilter = "(itest.role=api-consumer)";
        assertEquals("the consumer needs a Keystore named shared before it runs",
                0, bundleContext.getServiceReferences(Callable.class, consumerFilter).size());

        configureMemoryKeystore("shared", Map.of(KeystoreProperties.NAME, "shared"));

        @SuppressWarnings("rawtypes")
        ServiceReference<Callable> reference = awaitRegistration(Callable.class, consumerFilter);
        assertEquals(consumer, reference.getBundle());
        Map<?, ?> seen = (Map<?, ?>) awaitService(reference).call();
        assertEquals(seen.toString(), Boolean.TRUE, seen.get("roundTrip"));
        assertEquals(seen.toString(), 1, seen.get("listed"));
        assertEquals(seen.toString(), Boolean.TRUE, seen.get("up"));

        // the key it stored is in the one Keystore service every bundle shares
        Keystore keystore = awaitKeystore("shared");
        assertEquals(KeyType.L4, keystore.retrieveKey(KeyId.parse((String) seen.get("key"))).metadata().type());
    }

    /** The package names of an Import-Package header, in order, without their attributes. */
    private static List<String> packageNames(String header) {
        assertNotNull("no Import-Package header", header);
        List<String> names = new ArrayList<>();
        boolean quoted = false;
        StringBuilder clause = new StringBuilder();
        for (char c : (header + ",").toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                names.add(clause.toString().split(";", 2)[0].trim());
                clause.setLength(0);
            } else {
                clause.append(c);
            }
        }
        return names;
    }
}
