package org.openkcm.keystore.kek.awskms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.kek.awskms.testing.MotoServer;
import org.openkcm.keystore.kek.common.RootKey;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * Benchmarks only: the AWS KMS provider (ring at rest) against moto on loopback, and the same KMS
 * key as a per-record root. In this package because the provider's loading and the root key are
 * package-private.
 */
public final class BenchKms implements AutoCloseable {
    public final KekProvider ring;
    public final RootKey root;
    private final MotoServer moto;

    private BenchKms(KekProvider ring, RootKey root, MotoServer moto) {
        this.ring = ring;
        this.root = root;
        this.moto = moto;
    }

    public static BenchKms start(Path dir) throws Exception {
        MotoServer moto = MotoServer.start();
        // dir is the allow-listed secrets folder; a KEK provider's secrets are under its kek/
        Path secret = Files.createDirectories(dir.resolve("kek")).resolve("aws-secret");
        Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(secret, MotoServer.SECRET_ACCESS_KEY);
        Map<String, Object> config = new HashMap<>();
        config.put("key.id", moto.createKey());
        config.put("region", MotoServer.REGION);
        config.put("endpoint", moto.endpoint.toString());
        config.put("credentials", "static");
        config.put("access.key.id", MotoServer.ACCESS_KEY_ID);
        config.put("secret.access.key.source", "file:" + secret);
        config.put("ring.file", dir.resolve("awskms.ring").toString());
        KmsSettings settings = KmsSettings.from(ComponentConfigs.of(KmsKekProvider.Config.class, config),
                k -> "openkcm.secrets.dir".equals(k) ? dir.toString() : null);
        KmsKekProvider provider = new KmsKekProvider();
        provider.load(settings, System::getenv);
        KmsRootKey root = new KmsRootKey(settings, KmsRootKey.credentials(settings, System::getenv));
        return new BenchKms(provider, root, moto);
    }

    @Override
    public void close() {
        ((KmsRootKey) root).close();
        moto.close();
    }
}
