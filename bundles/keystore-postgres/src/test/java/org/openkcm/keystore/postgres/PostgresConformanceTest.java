package org.openkcm.keystore.postgres;

import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;

/** The SDK's conformance suite against a real PostgreSQL server, each test in a fresh schema. */
class PostgresConformanceTest extends KeystoreConformanceSuite {
    @Override
    protected Keystore createKeystore() {
        return TestDatabase.open(TestDatabase.properties());
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        ((PostgresKeystore) keystore).close();
    }
}
