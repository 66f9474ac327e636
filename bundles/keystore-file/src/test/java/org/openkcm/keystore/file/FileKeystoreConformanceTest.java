package org.openkcm.keystore.file;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;

import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.sdk.KeystoreConformanceSuite;

/** The whole conformance suite against a file keystore on a fresh folder per test. */
class FileKeystoreConformanceTest extends KeystoreConformanceSuite {

    @TempDir
    Path folder;

    @Override
    protected Keystore createKeystore() throws IOException {
        return new FileKeystore(Files.createTempDirectory(folder, "keys"), "file", EnumSet.allOf(KeyType.class), null);
    }

    @Override
    protected void disposeKeystore(Keystore keystore) {
        ((FileKeystore) keystore).close();
    }
}
