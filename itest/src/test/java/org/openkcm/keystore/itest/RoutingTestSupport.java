package org.openkcm.keystore.itest;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.After;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.KeystoreProperties;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;

/**
 * What the routing tests share: the core bundle (router, operations, the file KEK provider in
 * {@code ${openkcm.home}/data/kek}) with Caffeine (its required key caches), the SDK bundle (FaultyKeystore) and
 * the Felix Health Check API, plus helpers
 * to configure backends, routes and the router, and to register a backend from the test itself.
 */
public abstract class RoutingTestSupport extends KeystoreTestSupport {
    protected static final String ROUTE_PID = "org.openkcm.keystore.route";
    protected static final String ROUTER_PID = "org.openkcm.keystore.router";
    protected static final String OPENBAO_ADDRESS = "itest.openbao.address";
    protected static final String OPENBAO_TOKEN_FILE = "itest.openbao.token.file";
    protected static final String OPENBAO_BINARY = "itest.openbao.binary";

    private final List<Configuration> routingConfigurations = new ArrayList<>();
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    /** The routing framework with a fresh {@code openkcm.home} of its own (see {@link #freshHome}). */
    protected static Option routingConfiguration() {
        return routingConfiguration(freshHome("routing-it"));
    }

    /** The routing framework with {@code openkcm.home} at {@code home}; null: without the property. */
    protected static Option routingConfiguration(Path home) {
        Option core = composite(baseConfiguration(), buildBundle("sdk"), buildBundle("healthcheck-api"),
                buildBundle("caffeine"), buildBundle("core"));
        return home == null ? core : composite(core, homeProperty(home));
    }

    /**
     * The routing framework plus the OpenBao backend bundle of this build, with a real
     * {@code bao server -dev} (started outside the framework, once per JVM) whose address, token
     * file and binary reach the test as system properties.
     */
    protected static Option routingWithOpenBaoConfiguration() {
        File bundleFile = OpenBaoDevServer.bundleFile();
        OpenBaoDevServer server = OpenBaoDevServer.start(bundleFile.toPath().getParent());
        return composite(routingConfiguration(), bouncyCastle(), bundle(bundleFile.toURI().toString()),
                systemProperty(OPENBAO_ADDRESS).value(server.address),
                systemProperty(OPENBAO_TOKEN_FILE).value(server.tokenFile.toString()),
                systemProperty(OPENBAO_BINARY).value(server.binary.toString()),
                // the secret allow-list is on: the token file's own folder is the allowed secrets folder
                frameworkProperty("openkcm.secrets.dir").value(server.tokenFile.getParent().toString()));
    }

    /**
     * Configures an OpenBao backend instance named {@code name} on the dev server, under a fresh
     * path prefix, waits for its Keystore service and returns the prefix.
     */
    protected String openBaoBackend(String name, String... tiers) throws Exception {
        String prefix = name + "-" + System.nanoTime();
        Map<String, Object> bao = new HashMap<>();
        bao.put("address", System.getProperty(OPENBAO_ADDRESS));
        bao.put("token.source", "file:" + System.getProperty(OPENBAO_TOKEN_FILE));
        bao.put("path.prefix", prefix);
        bao.put("keystore.name", name);
        bao.put("keystore.tiers", tiers);
        Configuration c = configurationAdmin.getFactoryConfiguration("org.openkcm.keystore.openbao", name, "?");
        c.update(dictionary(bao));
        routingConfigurations.add(c);
        awaitKeystoreReference(name);
        return prefix;
    }

    @After
    public final void releaseRouting() throws IOException {
        for (ServiceRegistration<?> r : registrations) {
            try {
                r.unregister();
            } catch (IllegalStateException gone) {
                // the test unregistered it
            }
        }
        for (Configuration c : routingConfigurations) {
            try {
                c.delete();
            } catch (IllegalStateException gone) {
                // the test deleted it
            }
        }
    }

    protected KeystoreOperations operations() throws InterruptedException {
        return awaitService(awaitRegistration(KeystoreOperations.class, ""));
    }

    protected KeystoreAdministration administration() throws InterruptedException {
        return awaitService(awaitRegistration(KeystoreAdministration.class, ""));
    }

    /** An in-memory backend (a factory configuration of the memory bundle) named {@code name}. */
    protected void memoryBackend(String name, int ranking, String... tiers) throws Exception {
        configureMemoryKeystore(name, Map.of(KeystoreProperties.NAME, name, KeystoreProperties.TIERS,
                tiers.length == 0 ? new String[] {"L2", "L3", "L4"} : tiers, Constants.SERVICE_RANKING, ranking));
        awaitKeystoreReference(name);
    }

    /** Creates or replaces the route {@code name}. */
    protected Configuration route(String name, Map<String, Object> properties) throws IOException {
        Configuration c = configurationAdmin.getFactoryConfiguration(ROUTE_PID, name, "?");
        c.update(dictionary(properties));
        routingConfigurations.add(c);
        return c;
    }

    protected void router(Map<String, Object> properties) throws IOException {
        Configuration c = configurationAdmin.getConfiguration(ROUTER_PID, "?");
        c.update(dictionary(properties));
        routingConfigurations.add(c);
    }

    /** Registers a Keystore from the test bundle. */
    protected ServiceRegistration<Keystore> register(String name, int ranking, Keystore keystore) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(KeystoreProperties.NAME, name);
        props.put(KeystoreProperties.TIERS, "L2,L3,L4");
        props.put(Constants.SERVICE_RANKING, ranking);
        ServiceRegistration<Keystore> r = bundleContext.registerService(Keystore.class, keystore, props);
        registrations.add(r);
        return r;
    }

    /** Waits until the route named {@code name} is in force with the target. */
    protected void awaitRoute(KeystoreAdministration admin, String name, String target) throws InterruptedException {
        awaitCondition("route " + name + " -> " + target + " in force", () -> {
            for (RouteDescription r : admin.routes()) {
                if (r.name().equals(name) && r.target().equals(target) && r.inForce()) {
                    return true;
                }
            }
            return false;
        });
    }

    protected void awaitState(KeystoreAdministration admin, String name, BackendStatus.State state)
            throws InterruptedException {
        awaitCondition("backend " + name + " " + state, () -> state(admin, name) == state);
    }

    /** The state of the serving registration of the name (not a shadowed one), or null. */
    protected static BackendStatus.State state(KeystoreAdministration admin, String name) {
        for (BackendStatus s : admin.backends()) {
            if (s.name().equals(name) && s.state() != BackendStatus.State.SHADOWED) {
                return s.state();
            }
        }
        return null;
    }

    protected static KeySpec spec(String name, KeyType type, Owner owner, String region) {
        return KeySpec.builder().name(name).type(type).algorithm("AES").keySize(256).owner(owner).region(region).build();
    }
}
