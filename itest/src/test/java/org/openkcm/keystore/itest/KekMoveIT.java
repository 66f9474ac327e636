package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

/**
 * Moving the keystore from one KEK provider to another in a real framework, with the core's two
 * local providers: the key file ({@code org.openkcm.keystore.kek.file}, id {@code local}) and a
 * file reference ({@code org.openkcm.keystore.kek.reference}, id {@code next}). With both present
 * nothing seals until {@code seal.kek.id} names one; the re-wrap moves every record, reports what
 * failed and is finished by running it again; every key reads the same material afterwards; and
 * the old KEK then leaves the allow-list. A provider registered by another bundle with a higher
 * ranking never seals.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class KekMoveIT extends KekTestSupport {
    private static final String REFERENCE_KEK_PID = "org.openkcm.keystore.kek.reference";
    private static final int KEYS = 12;

    private Path folder;

    /**
     * The framework's {@code openkcm.home}, as the runtime sets it: the key file and the known-KEK
     * record are in its {@code data/kek/} from the first activation on.
     */
    @Configuration
    public Option[] configuration() throws IOException {
        return options(routingConfiguration(freshHome("kek-move-it")));
    }

    @Before
    public void kekFolder() throws Exception {
        folder = Path.of(bundleContext.getProperty("openkcm.home")).resolve("data/kek");
        awaitKekIds("local");
        operations(); // a delayed component: activated (and the KEKs pinned) when first asked for
        awaitCondition("the KEK file and the known-KEK record in the home",
                () -> Files.isRegularFile(folder.resolve("local.kek")) && Files.isRegularFile(folder.resolve("known-keks")));
    }

    @Test
    public void fileToAnotherProviderBySealKekIdWithAResumableRewrapAfterWhichTheOldKekLeavesTheAllowList()
            throws Exception {
        memoryBackend("memory-raw", 0);
        Keystore raw = awaitKeystore("memory-raw");
        FaultyKeystore memory = new FaultyKeystore(raw);
        register("memory", 0, memory);
        KeystoreOperations ops = operations();
        KeystoreAdministration admin = administration();
        Map<KeyId, byte[]> materials = new LinkedHashMap<>();
        for (int i = 0; i < KEYS; i++) {
            KeyId id = awaitGenerate(ops, "key-" + i);
            materials.put(id, material(ops, id));
            assertEquals("local", recordKekId(raw, id));
        }
        assertTrue(Files.readString(folder.resolve("known-keks")).contains("local 1 "));

        // a second provider: the ring in an owner-only file that a reference names
        Path ring = folder.resolve("next.kek");
        byte[] next = new byte[32];
        new SecureRandom().nextBytes(next);
        Files.writeString(ring, "1:" + Base64.getEncoder().encodeToString(next) + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(ring, PosixFilePermissions.fromString("rw-------"));
        configure(REFERENCE_KEK_PID, Map.of("kek.id", "next", "file", ring.toString()));
        awaitKekIds("local", "next");

        // the provider's registration reaches the operations a moment after it is visible here: wait with a probe
        // that changes nothing either way (every key is already under 'local', the KEK a re-wrap would target)
        awaitCondition("the operations see two providers", () -> rewrapRefused(admin));
        assertTrue(refusesToSeal(ops, "seal.kek.id"));
        assertEquals("nothing was stored", KEYS, count(raw));

        configure(OPERATIONS_PID, Map.of("seal.kek.id", "next"));
        KeyId sealedUnderNext = awaitGenerate(ops, "after-switch");
        materials.put(sealedUnderNext, material(ops, sealedUnderNext));
        assertEquals("next", recordKekId(raw, sealedUnderNext));
        assertEquals("the older keys still open under local", "local", recordKekId(raw, KeyId.of("key-0", 1)));

        // before the re-wrap, leaving 'local' off the allow-list makes its records unavailable, not corrupt
        configure(OPERATIONS_PID, Map.of("seal.kek.id", "next", "open.kek.ids", new String[] {"next"}));
        awaitCondition("local off the allow-list", () -> unavailable(ops, KeyId.of("key-0", 1), "'local' is not on the allow-list"));
        configure(OPERATIONS_PID, Map.of("seal.kek.id", "next"));
        awaitCondition("local back on the allow-list", () -> opens(ops, KeyId.of("key-0", 1)));

        // a re-wrap that fails part-way reports each key it could not move ...
        memory.failBefore(FaultyKeystore.Operation.REWRAP, 4, () -> new UnavailableException("injected outage"));
        RewrapReport partial = admin.rewrapAll();
        memory.reset();
        assertEquals(partial.toString(), "next", partial.kekId());
        assertEquals(partial.toString(), KEYS + 1, partial.examined());
        assertEquals(partial.toString(), 4, partial.failed().size());
        assertEquals(partial.toString(), KEYS - 4, partial.rewrapped());
        assertEquals(partial.toString(), 1, partial.alreadyCurrent());
        assertTrue(partial.failed().values().iterator().next().contains("injected outage"));
        // ... and running it again finishes it, skipping what is done
        RewrapReport rest = admin.rewrapAll();
        assertTrue(rest.toString(), rest.failed().isEmpty());
        // exactly the four: nothing else re-wraps meanwhile (a re-wrap refused after its intent was journaled
        // ends it, so recovery never runs one in the background; KekRewrapTargetTest)
        assertEquals(rest.toString(), 4, rest.rewrapped());
        assertEquals(rest.toString(), KEYS - 3, rest.alreadyCurrent());
        for (KeyId id : materials.keySet()) {
            assertEquals(id.toString(), "next", recordKekId(raw, id));
        }
        String record = Files.readString(folder.resolve("known-keks"));
        assertTrue(record, record.lines().anyMatch(l -> l.startsWith("local 1 ") && l.endsWith(" released")));

        // the old KEK leaves the allow-list: every key still reads the same material
        configure(OPERATIONS_PID, Map.of("seal.kek.id", "next", "open.kek.ids", new String[] {"next"}));
        awaitCondition("every key opens without local", () -> materials.keySet().stream().allMatch(id -> opens(ops, id)));
        for (Map.Entry<KeyId, byte[]> e : materials.entrySet()) {
            assertArrayEquals(e.getKey().toString(), e.getValue(), material(ops, e.getKey()));
        }
        KeyId later = awaitGenerate(ops, "later");
        assertEquals("next", recordKekId(raw, later));
    }

    @Test
    public void aProviderFromAnotherBundleWithAHigherRankingNeverSeals() throws Exception {
        memoryBackend("memory-raw", 0);
        Keystore raw = awaitKeystore("memory-raw");
        register("memory", 0, new FaultyKeystore(raw));
        KeystoreOperations ops = operations();
        KeyId before = awaitGenerate(ops, "before");

        CountingKek plugin = new CountingKek("plugin");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_RANKING, 1000);
        props.put(KekProvider.KEK_ID, "plugin");
        ServiceRegistration<KekProvider> registration = bundleContext.registerService(KekProvider.class, plugin, props);
        try {
            awaitKekIds("local", "plugin");
            awaitCondition("sealing refused", () -> refusesToSeal(ops, "2 KEK providers are present"));
            assertEquals("nothing was stored", 1, count(raw));
            assertTrue("the existing key opens", opens(ops, before));

            configure(OPERATIONS_PID, Map.of("seal.kek.id", "local"));
            KeyId after = awaitGenerate(ops, "after");
            assertEquals("local", recordKekId(raw, after));
            assertEquals("the plugin wrapped nothing", 0, plugin.wraps.get());
        } finally {
            registration.unregister();
        }
    }

    // ---- helpers ----

    private static boolean rewrapRefused(KeystoreAdministration admin) {
        try {
            RewrapReport report = admin.rewrapAll();
            assertEquals("nothing to move while 'local' seals", 0, report.rewrapped());
            return false;
        } catch (UnavailableException e) {
            return e.getMessage().contains("KEK refused: ") && e.getMessage().contains("seal.kek.id");
        }
    }

    /** A KEK provider of another bundle: AES key wrap and HMAC under a random key, counting its wraps. */
    private static final class CountingKek implements KekProvider {
        private final String id;
        private final byte[] key = new byte[32];
        final AtomicInteger wraps = new AtomicInteger();

        CountingKek(String id) {
            this.id = id;
            new SecureRandom().nextBytes(key);
        }

        @Override
        public String kekId() {
            return id;
        }

        @Override
        public List<Integer> versions() {
            return List.of(1);
        }

        @Override
        public int currentVersion() {
            return 1;
        }

        @Override
        public byte[] wrap(int version, byte[] dataKey) {
            wraps.incrementAndGet();
            return crypt(Cipher.ENCRYPT_MODE, dataKey);
        }

        @Override
        public byte[] unwrap(int version, byte[] wrapped) {
            return crypt(Cipher.DECRYPT_MODE, wrapped);
        }

        @Override
        public byte[] mac(int version, byte[] data) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(key, "HmacSHA256"));
                return mac.doFinal(data);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        private byte[] crypt(int mode, byte[] in) {
            try {
                Cipher kw = Cipher.getInstance("AES/KW/NoPadding");
                kw.init(mode, new SecretKeySpec(key, "AES"));
                return kw.doFinal(in);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
