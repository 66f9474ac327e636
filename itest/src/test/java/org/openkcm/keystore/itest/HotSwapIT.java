package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.itest.swap.SwapBackend;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.ops4j.pax.tinybundles.TinyBundles;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;

/**
 * Hot swap: four threads store and read keys through KeystoreOperations (L2 keys to the backend
 * bundle being swapped, L4 keys to the in-memory backend) while the backend bundle is updated to
 * a new version, then stopped and started. No request fails: requests for the swapped backend wait
 * for its name to come back. Every acknowledged key is readable afterwards. The backend bundle is
 * built here; its storage is a service of the test, so, like a persistent backend (OpenBao), it
 * keeps its keys across the swap.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class HotSwapIT extends RoutingTestSupport {
    private static final String SWAP_BSN = "org.openkcm.keystore.itest.swap";

    private static final String V1 = "itest.swap.v1";
    private static final String V2 = "itest.swap.v2";

    /** Runs outside the framework: builds the two versions of the backend bundle into files. */
    @Configuration
    public Option[] configuration() throws IOException {
        Path dir = Files.createTempDirectory("hotswap");
        Path v1 = dir.resolve("swap-1.0.0.jar");
        Path v2 = dir.resolve("swap-1.0.1.jar");
        try (InputStream in = swapBundle("1.0.0")) {
            Files.copy(in, v1);
        }
        try (InputStream in = swapBundle("1.0.1")) {
            Files.copy(in, v2);
        }
        return options(routingConfiguration(), systemProperty(V1).value(v1.toUri().toString()),
                systemProperty(V2).value(v2.toString()));
    }

    private static InputStream swapBundle(String version) {
        return TinyBundles.bundle()
                .addClass(SwapBackend.class)
                .addClass(SwapBackend.Delegating.class)
                .symbolicName(SWAP_BSN)
                .setHeader(Constants.BUNDLE_VERSION, version)
                .setHeader(Constants.BUNDLE_ACTIVATOR, SwapBackend.class.getName())
                .setHeader("-noimportjava", "true")
                .build(TinyBundles.bndBuilder());
    }

    @Test
    public void fourThreadsSeeNoFailureWhileTheBackendBundleIsUpdatedStoppedAndStarted() throws Exception {
        memoryBackend("memory", 0);
        memoryBackend("storage", 0);
        Keystore storage = awaitKeystore("storage");
        Hashtable<String, Object> role = new Hashtable<>();
        role.put("itest.role", "storage");
        bundleContext.registerService(Keystore.class, storage, role); // no keystore.name: the router leaves it alone
        Bundle swap = bundleContext.installBundle(System.getProperty(V1));
        swap.start();
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l2-to-swap", Map.of("tiers", new String[] {"L2"}, "target", "swap"));
        awaitRoute(admin, "l2-to-swap", "swap");
        awaitState(admin, "swap", BackendStatus.State.ACTIVE);

        HotSwapLoad load = new HotSwapLoad(ops, KeyType.L2, KeyType.L4, "k");
        Thread.sleep(300);
        long updateStart = System.nanoTime();
        try (InputStream v2 = Files.newInputStream(Path.of(System.getProperty(V2)))) {
            swap.update(v2);
        }
        long updateEnd = System.nanoTime();
        Thread.sleep(300);
        long stopStart = System.nanoTime();
        swap.stop();
        Thread.sleep(200);
        swap.start();
        long startEnd = System.nanoTime();
        Thread.sleep(300);
        load.stop();
        long end = System.nanoTime();
        String figures = String.format("HOTSWAP memory-backed bundle: %d requests; longest stall: bundle update %d ms, "
                + "stop+200 ms+start %d ms; requests to the other backend from the update on %d ms", load.calls(),
                load.longestMs(updateStart, updateEnd, null), load.longestMs(stopStart, startEnd, null),
                load.longestMs(updateStart, end, KeyType.L4));
        System.out.println(figures);
        assertEquals(figures + "; failures", List.of(), load.failures());
        assertTrue("requests ran across the swap: " + figures, load.calls() > 20);
        assertEquals("1.0.1", installedBundle(SWAP_BSN).getVersion().toString());
        for (KeyId id : load.acknowledged()) {
            try (KeyMaterial m = ops.get(id)) {
                assertEquals(32, m.copyBytes().length);
            }
        }
        BackendStatus swapStatus = admin.backends().stream().filter(s -> s.name().equals("swap")).findFirst().get();
        assertEquals("1.0.1", swapStatus.bundleVersion());
    }
}
