package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.util.List;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * Hot swap against the real OpenBao backend: four threads store and read keys through
 * KeystoreOperations (L2 keys to OpenBao on a real {@code bao server -dev}, L4 keys to the in-memory
 * backend) while the OpenBao backend bundle is updated, then stopped and started again. No request
 * fails (those for OpenBao wait for its {@code keystore.name} to return, through SCR's
 * reactivation, when the service object is briefly null), and every acknowledged key is readable
 * afterwards: OpenBao kept them.
 * <p>
 * The backend lets calls in flight on the old instance finish when its component deactivates
 * (its HTTP executor is shut down gracefully), so a call that reached OpenBao just before the
 * update returns; the router retries one that fails as unavailable on the new service.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OpenBaoHotSwapIT extends RoutingTestSupport {
    private static final String OPENBAO_BSN = "org.openkcm.keystore.keystore-openbao";

    @Configuration
    public Option[] configuration() {
        return options(routingWithOpenBaoConfiguration());
    }

    @Test
    public void noRequestFailsWhileTheOpenBaoBundleIsUpdatedStoppedAndStarted() throws Exception {
        memoryBackend("memory", 0);
        openBaoBackend("openbao", "L2", "L3");
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l2-l3-to-openbao", Map.of("tiers", new String[] {"L2", "L3"}, "target", "openbao", "priority", 10));
        awaitRoute(admin, "l2-l3-to-openbao", "openbao");
        awaitState(admin, "openbao", BackendStatus.State.ACTIVE);
        Bundle openbao = installedBundle(OPENBAO_BSN);

        HotSwapLoad load = new HotSwapLoad(ops, KeyType.L2, KeyType.L4, "bao");
        Thread.sleep(500);
        long updateStart = System.nanoTime();
        openbao.update();
        long updateEnd = System.nanoTime();
        Thread.sleep(500);
        long stopStart = System.nanoTime();
        openbao.stop();
        Thread.sleep(200);
        openbao.start();
        long startEnd = System.nanoTime();
        Thread.sleep(500);
        load.stop();
        long end = System.nanoTime();

        String figures = String.format("HOTSWAP OpenBao bundle: %d requests; longest stall: bundle update %d ms, "
                + "stop+200 ms+start %d ms, until 500 ms after the restart %d ms; requests to the memory backend %d ms",
                load.calls(), load.longestMs(updateStart, updateEnd, null), load.longestMs(stopStart, startEnd, null),
                load.longestMs(stopStart, end, KeyType.L2), load.longestMs(updateStart, end, KeyType.L4));
        System.out.println(figures);
        assertEquals(figures, List.of(), load.failures());
        assertTrue(figures, load.calls() > 20);
        for (KeyId id : load.acknowledged()) {
            try (KeyMaterial m = ops.get(id)) {
                assertEquals(32, m.copyBytes().length);
            }
        }
        assertEquals(BackendStatus.State.ACTIVE, state(admin, "openbao"));
    }
}
