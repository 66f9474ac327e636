package org.openkcm.keystore.core.cache;

import org.openkcm.keystore.core.log.Logs;
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
 * they held. A service of the core bundle alone (its type is private).
 */
@Component(name = KeyCache.PID, service = CacheComponent.class)
@Designate(ocd = CacheConfig.class)
public final class CacheComponent {
    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    private volatile KeyCache cache;

    @Activate
    void activate(CacheConfig config) {
        cache = new KeyCache(CacheSettings.of(config));
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
        cache.close();
    }

    public KeyCache cache() {
        return cache;
    }
}
