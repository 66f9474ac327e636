package org.openkcm.keystore.metrics.prometheus;

import java.util.List;

import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

/**
 * The keystore's administration service, for the cache counters: tracked by reference, got at the
 * first scrape that needs it and kept until it goes. Not a DS reference, and not got while the
 * metrics component activates: the core binds to the metrics component (through its MetricsBridge),
 * so getting a core service then would be a cycle.
 */
final class AdministrationLookup implements ServiceTrackerCustomizer<KeystoreAdministration, AdministrationLookup.Held>,
        AutoCloseable {

    /** One registration, and its service once got. */
    static final class Held {
        final ServiceReference<KeystoreAdministration> reference;
        volatile KeystoreAdministration service;

        Held(ServiceReference<KeystoreAdministration> reference) {
            this.reference = reference;
        }
    }

    private final BundleContext context;
    private final ServiceTracker<KeystoreAdministration, Held> tracker;

    AdministrationLookup(BundleContext context) {
        this.context = context;
        this.tracker = new ServiceTracker<>(context, KeystoreAdministration.class, this);
        tracker.open();
    }

    /** The cache counters now; empty while there is no keystore. */
    List<CacheStatistics> cacheStatistics() {
        Held held = tracker.getService();
        if (held == null) {
            return List.of();
        }
        KeystoreAdministration admin = held.service;
        if (admin == null) {
            synchronized (held) {
                admin = held.service;
                if (admin == null) {
                    admin = context.getService(held.reference);
                    held.service = admin;
                }
            }
        }
        return admin == null ? List.of() : admin.cacheStatistics();
    }

    @Override
    public Held addingService(ServiceReference<KeystoreAdministration> reference) {
        return new Held(reference);
    }

    @Override
    public void modifiedService(ServiceReference<KeystoreAdministration> reference, Held held) {
        // nothing depends on its properties
    }

    @Override
    public void removedService(ServiceReference<KeystoreAdministration> reference, Held held) {
        synchronized (held) {
            if (held.service != null) {
                context.ungetService(reference);
                held.service = null;
            }
        }
    }

    @Override
    public void close() {
        tracker.close();
    }
}
