package org.openkcm.keystore.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.felix.framework.FrameworkFactory;
import org.apache.felix.hc.api.HealthCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.BackendStatus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.launch.Framework;

/** The health checks in a real Felix framework: one service per backend, registered with no lock held. */
class BackendHealthChecksTest {
    @TempDir
    Path storage;
    private Framework framework;
    private BundleContext context;

    @BeforeEach
    void start() throws Exception {
        framework = new FrameworkFactory().newFramework(Map.of(
                Constants.FRAMEWORK_STORAGE, storage.toString(),
                Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT));
        framework.start();
        context = framework.getBundleContext();
    }

    @AfterEach
    void stop() throws Exception {
        framework.stop();
        framework.waitForStop(10_000);
    }

    @Test
    void registersOneCheckPerNameAndDropsTheGoneOnes() throws Exception {
        BackendHealthChecks checks = (BackendHealthChecks) BackendHealthChecks.create(context, name -> null);
        checks.names(Set.of("a", "b"));
        assertEquals(Set.of("a", "b"), registeredBackends());
        checks.names(Set.of("b", "c"));
        assertEquals(Set.of("b", "c"), registeredBackends());
        checks.close();
        assertEquals(Set.of(), registeredBackends());
        checks.names(Set.of("d"));
        assertEquals(Set.of(), registeredBackends(), "a closed sink registers nothing");
    }

    /**
     * The framework calls service listeners synchronously on the registering thread. A listener
     * whose work needs another thread to reach the sink (here: reading its table) would deadlock
     * if the sink registered while holding its own lock.
     */
    @Test
    void registersAndUnregistersWithNoLockHeld() throws Exception {
        BackendHealthChecks checks = (BackendHealthChecks) BackendHealthChecks.create(context,
                name -> (BackendStatus) null);
        List<String> reached = new CopyOnWriteArrayList<>();
        ServiceListener listener = event -> {
            Thread other = new Thread(() -> reached.add(event.getType() + ":" + checks.registeredNames().size()));
            other.start();
            try {
                other.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        context.addServiceListener(listener, "(objectClass=" + HealthCheck.class.getName() + ")");
        checks.names(Set.of("a"));
        checks.names(Set.of());
        context.removeServiceListener(listener);
        assertEquals(2, reached.size(), "each listener call reached the sink from another thread: " + reached);
        assertTrue(reached.get(0).startsWith(ServiceEvent.REGISTERED + ":"), reached.toString());
        assertTrue(reached.get(1).startsWith(ServiceEvent.UNREGISTERING + ":"), reached.toString());
    }

    private Set<String> registeredBackends() throws Exception {
        var refs = context.getServiceReferences(HealthCheck.class, null);
        Set<String> names = new HashSet<>();
        for (var ref : refs) {
            names.add((String) ref.getProperty("keystore.name"));
        }
        return names;
    }
}
