package org.openkcm.keystore.memory;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;

/** Holds the in-memory backend, used as a plain object, to the contract every backend honours. */
class MemoryKeystoreConformanceTest extends KeystoreConformanceSuite {

    @Override
    protected Keystore createKeystore() {
        return new MemoryKeystore();
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        ((MemoryKeystore) keystore).deactivate();
    }
}
