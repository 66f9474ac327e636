package org.openkcm.keystore.itest.swap;

import java.util.Collection;
import java.util.Hashtable;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * A backend bundle (built by the hot-swap test) whose storage outlives it, as a real persistent
 * backend's does: it registers a Keystore named {@code swap} that delegates to a storage service
 * ({@code itest.role=storage}) the test registered. Updating, stopping and starting this bundle
 * takes the {@code swap} service away and brings it back, and no key is lost.
 */
public final class SwapBackend implements BundleActivator {

    @Override
    public void start(BundleContext context) throws Exception {
        Collection<ServiceReference<Keystore>> refs = context.getServiceReferences(Keystore.class, "(itest.role=storage)");
        Keystore storage = context.getService(refs.iterator().next());
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("keystore.name", "swap");
        props.put("keystore.tiers", new String[] {"L2", "L3", "L4"});
        context.registerService(Keystore.class, new Delegating(storage), props);
    }

    @Override
    public void stop(BundleContext context) {
        // the framework unregisters the service
    }

    /** Every call goes to the storage. */
    public static final class Delegating implements Keystore {
        private final Keystore storage;

        Delegating(Keystore storage) {
            this.storage = storage;
        }

        @Override
        public void storeKey(KeyId id, SealedKey sealed, KeyMetadata metadata) {
            storage.storeKey(id, sealed, metadata);
        }

        @Override
        public StoredKey retrieveKey(KeyId id) {
            return storage.retrieveKey(id);
        }

        @Override
        public KeyMetadata updateKeyMetadata(KeyId id, KeyMetadata metadata) {
            return storage.updateKeyMetadata(id, metadata);
        }

        @Override
        public void rewrapKey(KeyId id, SealedKey sealed, long expectedRevision) {
            storage.rewrapKey(id, sealed, expectedRevision);
        }

        @Override
        public boolean deleteKey(KeyId id) {
            return storage.deleteKey(id);
        }

        @Override
        public KeyPage listKeys(KeyFilter filter) {
            return storage.listKeys(filter);
        }

        @Override
        public KeystoreHealth health() {
            return storage.health();
        }
    }
}
