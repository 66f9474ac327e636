package org.openkcm.keystore.core.health;

import java.util.function.Function;

import org.openkcm.keystore.api.BackendStatus;
import org.osgi.framework.BundleContext;

/**
 * The Felix Health Check API is an optional import of this bundle: the keystore runs without it
 * (the runtime ships no health check bundles), and publishes its checks when it is wired. This
 * class makes that decision without linking to the API.
 */
public final class HealthCheckSupport {
    private HealthCheckSupport() {
    }

    public static boolean available() {
        try {
            Class.forName("org.apache.felix.hc.api.HealthCheck", false, HealthCheckSupport.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** The health checks of the backends, or null when the API is not wired. */
    public static NamesSink checks(BundleContext context, Function<String, BackendStatus> status) {
        return available() ? BackendHealthChecks.create(context, status) : null;
    }
}
