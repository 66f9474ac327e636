package org.openkcm.keystore.core.cache;

import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.routing.BackendTracker;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The key caches in the framework, configured by PID {@value KeyCache#PID} (see {@link CacheConfig}).
 * A configuration change replaces the caches: the old ones are closed, which wipes every opened key
 * they held. It hears the routing table itself: what was read from a backend that left is forgotten,
 * and everything when the routing policy changes. A service of the core bundle alone (its type is
 * private).
 */
@Component(name = KeyCache.PID, service = CacheComponent.class)
@Designate(ocd = CacheConfig.class)
public final class CacheComponent {
    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    /** The routing table's events: the cache forgets what it read from a backend that left, and all on a policy change. */
    @Reference
    private BackendTracker tracker;

    private volatile KeyCache cache;

    private final BackendTracker.ChangeListener routeChanges = new BackendTracker.ChangeListener() {
        @Override
        public void backendLeft(String name) {
            cache.invalidateBackend(name);
        }

        @Override
        public void policyChanged() {
            cache.invalidateAll();
        }
    };

    @Activate
    void activate(CacheConfig config) {
        cache = new KeyCache(CacheSettings.of(config));
        tracker.addChangeListener(routeChanges);
        Logs.info(logger, "Key cache: {}", cache.settings());
    }

    @Modified
    void modified(CacheConfig config) {
        KeyCache old = cache;
        cache = new KeyCache(CacheSettings.of(config));
        old.close();
        Logs.info(logger, "Key cache reconfigured (emptied): {}", cache.settings());
    }

    @Deactivate
    void deactivate() {
        tracker.removeChangeListener(routeChanges);
        cache.close();
    }

    public KeyCache cache() {
        return cache;
    }
}
