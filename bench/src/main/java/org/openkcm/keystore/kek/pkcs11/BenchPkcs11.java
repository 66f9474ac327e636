package org.openkcm.keystore.kek.pkcs11;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.kek.common.RootKey;
import org.openkcm.keystore.kek.pkcs11.testing.SoftHsm;
import org.openkcm.keystore.sdk.ComponentConfigs;

/**
 * Benchmarks only: the PKCS#11 provider (ring at rest) on a SoftHSM2 token of its own, and the
 * same token key as a per-record root, its session kept open for the run. SoftHSM2 reads its token
 * folder from the file {@code SOFTHSM2_CONF} names, which must be set before the JVM starts (see the
 * README's benchmark command). In this package because the provider's loading and the root key are
 * package-private.
 */
public final class BenchPkcs11 implements AutoCloseable {
    private static final String PIN = "bench-pin";

    public final KekProvider ring;
    public final RootKey root;
    private final Pkcs11RootKey session;

    private BenchPkcs11(KekProvider ring, Pkcs11RootKey session) {
        this.ring = ring;
        this.root = session;
        this.session = session;
    }

    public static BenchPkcs11 start(Path dir) {
        long slot = SoftHsm.initToken("openkcm-bench-" + System.nanoTime(), PIN);
        Map<String, Object> config = new HashMap<>();
        config.put("library", SoftHsm.MODULE.toString());
        config.put("slot", slot);
        // dir is the allow-listed secrets folder; a KEK provider's secrets are under its kek/
        Path kekSecrets = dir.resolve("kek");
        try {
            java.nio.file.Files.createDirectories(kekSecrets);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        config.put("pin.source", SoftHsm.pinFile(kekSecrets, PIN));
        config.put("create.key", Boolean.TRUE);
        config.put("ring.file", dir.resolve("pkcs11.ring").toString());
        Pkcs11KekProvider.Config component = ComponentConfigs.of(Pkcs11KekProvider.Config.class, config);
        Pkcs11KekProvider provider = new Pkcs11KekProvider();
        Pkcs11Settings settings = Pkcs11Settings.from(component, k -> "openkcm.secrets.dir".equals(k) ? dir.toString() : null);
        provider.load(settings, System::getenv);
        return new BenchPkcs11(provider, new Pkcs11RootKey(settings, settings.ring.kekId(), PIN.toCharArray()));
    }

    @Override
    public void close() {
        session.close();
    }
}
