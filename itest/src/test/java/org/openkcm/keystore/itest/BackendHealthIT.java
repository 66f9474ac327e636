package org.openkcm.keystore.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.openkcm.keystore.sdk.FaultyKeystore.Operation;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.ServiceReference;

/**
 * Backend health: a backend whose probes fail is marked DOWN after the configured number of
 * failures, its routes answer unavailable at once without reaching it while other routes keep
 * working, its Felix Health Check says CRITICAL, and it is back when a probe passes. The flaky
 * backend is a FaultyKeystore around an in-memory backend, registered by the test.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class BackendHealthIT extends RoutingTestSupport {

    @Configuration
    public Option[] configuration() {
        return options(routingConfiguration());
    }

    @Test
    public void aFailingBackendIsDownItsRoutesAnswerAtOnceAndItComesBack() throws Exception {
        router(Map.of("health.interval", 50L, "health.timeout", 200L, "health.failures", 2));
        memoryBackend("memory", 0);
        memoryBackend("raw", 0);
        FaultyKeystore flaky = new FaultyKeystore(awaitKeystore("raw"));
        register("flaky", 0, flaky);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        route("l2-to-flaky", Map.of("tiers", new String[] {"L2"}, "target", "flaky"));
        awaitRoute(admin, "l2-to-flaky", "flaky");
        awaitState(admin, "flaky", BackendStatus.State.ACTIVE);
        KeyMetadata before = ops.generate(spec("before", KeyType.L2, Owner.tenant("t"), null));
        HealthCheck check = healthCheck("flaky");
        assertEquals(Result.Status.OK, check.execute().getStatus());

        flaky.down("disk on fire");
        awaitState(admin, "flaky", BackendStatus.State.DOWN);
        long stores = flaky.calls(Operation.STORE);
        long start = System.nanoTime();
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> ops.generate(spec("during", KeyType.L2, Owner.tenant("t"), null)));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(e.getMessage(), e.getMessage().contains("backend flaky for L2 is down") && e.getMessage().contains("disk on fire"));
        assertTrue("answered at once, not after a wait: " + tookMs + " ms", tookMs < 1000);
        assertEquals("the router did not call the down backend", stores, flaky.calls(Operation.STORE));
        assertThrows(UnavailableException.class, () -> ops.metadata(before.id()));
        // other routes are unaffected
        KeyMetadata l4 = ops.generate(spec("other", KeyType.L4, Owner.tenant("t"), null));
        assertEquals(l4, ops.metadata(l4.id()));
        assertEquals(Result.Status.CRITICAL, check.execute().getStatus());
        BackendStatus status = admin.backends().stream().filter(s -> s.name().equals("flaky")).findFirst().get();
        assertTrue(status.consecutiveFailures() >= 2);
        assertEquals("disk on fire", status.lastReason().get());

        flaky.reset();
        awaitState(admin, "flaky", BackendStatus.State.ACTIVE);
        assertEquals(before, ops.metadata(before.id()));
        ops.generate(spec("after", KeyType.L2, Owner.tenant("t"), null));
        assertEquals(Result.Status.OK, check.execute().getStatus());
        assertEquals("the last reason is kept after recovery", "disk on fire", admin.backends().stream()
                .filter(s -> s.name().equals("flaky")).findFirst().get().lastReason().get());
    }

    @Test
    public void aProbeThatHangsFailsByTimeout() throws Exception {
        router(Map.of("health.interval", 50L, "health.timeout", 100L, "health.failures", 2));
        memoryBackend("memory", 0);
        FaultyKeystore slow = new FaultyKeystore(awaitKeystore("memory"));
        register("slow", 0, slow);
        KeystoreAdministration admin = administration();
        awaitState(admin, "slow", BackendStatus.State.ACTIVE);
        slow.delay(Operation.HEALTH, Duration.ofSeconds(2));
        awaitState(admin, "slow", BackendStatus.State.DOWN);
        String reason = admin.backends().stream().filter(s -> s.name().equals("slow")).findFirst().get()
                .lastReason().get();
        assertTrue(reason, reason.contains("did not answer within 100 ms") || reason.contains("still running"));
        slow.reset();
        awaitState(admin, "slow", BackendStatus.State.ACTIVE);
    }

    private HealthCheck healthCheck(String backend) throws InterruptedException {
        ServiceReference<HealthCheck> ref = awaitRegistration(HealthCheck.class, "(keystore.name=" + backend + ")");
        assertTrue(String.valueOf(ref.getProperty(HealthCheck.NAME)).contains(backend));
        assertTrue(java.util.Arrays.asList((String[]) ref.getProperty(HealthCheck.TAGS)).contains("keystore"));
        return awaitService(ref);
    }

}
