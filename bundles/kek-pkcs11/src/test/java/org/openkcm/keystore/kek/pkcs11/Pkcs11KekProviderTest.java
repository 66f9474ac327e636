package org.openkcm.keystore.kek.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.kek.pkcs11.testing.SoftHsm;
import org.openkcm.keystore.sdk.ComponentConfigs;

/** The PKCS#11 KEK provider against a real SoftHSM2 token, through the JDK's SunPKCS11. */
class Pkcs11KekProviderTest {
    /** The id the configuration gives the ring; the core seals under another bundle's KEK only when named. */
    private static final String KEK_ID = "pkcs11";

    private static final String PIN = "4711-" + ProcessHandle.current().pid();
    private static final AtomicInteger LABELS = new AtomicInteger();
    private static long slot;
    private static long spareSlot;
    private static long goneSlot;

    @TempDir
    Path dir;
    private Path ringFile;
    private String label;

    @BeforeAll
    static void createTokens() {
        slot = SoftHsm.initToken("openkcm-test", PIN);
        spareSlot = SoftHsm.initToken("openkcm-spare", PIN);
        // SoftHSM sees the tokens that exist when the module is initialised (once per JVM): all are made here.
        goneSlot = SoftHsm.initToken("openkcm-gone", PIN);
    }

    @BeforeEach
    void freshLabel() {
        label = "root-" + LABELS.incrementAndGet();
        ringFile = dir.resolve("kek/pkcs11.ring");
    }

    private Map<String, Object> config() {
        Map<String, Object> c = new HashMap<>();
        c.put("library", SoftHsm.MODULE.toString());
        c.put("slot", String.valueOf(slot));
        c.put("pin.source", SoftHsm.pinFile(SoftHsm.kekSecrets(), PIN));
        c.put("key.label", label);
        c.put("create.key", "true");
        c.put("ring.file", ringFile.toString());
        return c;
    }

    private static Pkcs11KekProvider start(Map<String, Object> config) {
        Pkcs11KekProvider provider = new Pkcs11KekProvider();
        provider.activate(ComponentConfigs.of(Pkcs11KekProvider.Config.class, config));
        return provider;
    }

    private static byte[] dataKey() {
        byte[] k = new byte[KekProvider.DATA_KEY_BYTES];
        new SecureRandom().nextBytes(k);
        return k;
    }

    @Test
    void theWrapSettingChoosesHowNewDataKeysAreWrappedAndBothFormsUnwrap() throws IOException {
        Map<String, Object> config = config();
        config.put("wrap", "kw");
        Pkcs11KekProvider kw = start(config);
        byte[] dk = new byte[32];
        dk[0] = 7;
        byte[] kwWrapped = kw.wrap(1, dk);
        assertEquals(LocalKekRing.KW_WRAPPED_BYTES, kwWrapped.length, "wrap = kw writes what an older runtime reads");
        config.remove("wrap");
        Pkcs11KekProvider gcm = start(config);
        byte[] gcmWrapped = gcm.wrap(1, dk);
        assertEquals(LocalKekRing.GCM_WRAPPED_BYTES, gcmWrapped.length, "the default is the GCM wrap");
        assertArrayEquals(dk, gcm.unwrap(1, kwWrapped));
        assertArrayEquals(dk, kw.unwrap(1, gcmWrapped));
        config.put("wrap", "aes");
        assertThrows(InvalidInputException.class, () -> start(config));
    }

    @Test
    void theKeyIsCreatedInTheTokenNotExtractableAndASecondStartUnsealsTheSameRing() throws IOException {
        Pkcs11KekProvider first = start(config());
        String text = Files.readString(ringFile);
        assertTrue(text.contains("openkcm-sealed-kek-ring 2 pkcs11") && text.contains("PKCS#11 key " + label), text);

        Map<String, Object> again = config();
        again.put("create.key", "false");
        Pkcs11KekProvider second = start(again);
        byte[] dk = dataKey();
        assertArrayEquals(dk, second.unwrap(1, first.wrap(1, dk)));
        byte[] labelBytes = "key check value".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(first.mac(1, labelBytes), second.mac(1, labelBytes));
        assertEquals(text, Files.readString(ringFile));

        Pkcs11Settings settings = Pkcs11Settings.from(ComponentConfigs.of(Pkcs11KekProvider.Config.class, again), System::getProperty);
        char[] pin = PIN.toCharArray();
        try (Pkcs11RootKey root = new Pkcs11RootKey(settings, "pkcs11", pin)) {
            assertNull(root.tokenKey().getEncoded(), "the token key's bytes never leave the token");
        }
    }

    @Test
    void recordsSealedThroughTheCoreOpenAfterARestart() {
        MemoryKeystore backend = new MemoryKeystore();
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(start(config())))
                .sealWith(KEK_ID);
        KeyMetadata generated = ops.generate(KeySpec.builder().name("tenant-kek").type(KeyType.L2).algorithm("AES")
                .keySize(256).owner(Owner.tenant("acme")).build());
        byte[] material;
        try (KeyMaterial m = ops.get(generated.id())) {
            material = m.copyBytes();
        }
        DefaultKeystoreOperations restarted = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(start(config())))
                .sealWith(KEK_ID);
        try (KeyMaterial m = restarted.get(generated.id())) {
            assertArrayEquals(material, m.copyBytes());
        }
    }

    @Test
    void whenTheTokenIsGoneRecordsStillOpenAndAStartFailsAsUnavailable() throws IOException {
        Map<String, Object> config = config();
        config.put("slot", String.valueOf(goneSlot));
        MemoryKeystore backend = new MemoryKeystore();
        Pkcs11KekProvider provider = start(config);
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(provider))
                .knownKeks(KnownKeks.open(dir.resolve("known-keks"))).sealWith(KEK_ID);
        KeyMetadata before = ops.generate(KeySpec.builder().name("svc-kek").type(KeyType.L3).algorithm("AES")
                .keySize(256).owner(Owner.service("payments")).build());
        String ring = Files.readString(ringFile);

        SoftHsm.deleteToken("openkcm-gone");

        try (KeyMaterial m = ops.get(before.id())) {
            assertEquals(32, m.length());
        }
        KeystoreException refused = assertThrows(KeystoreException.class, () -> start(config));
        assertTrue(refused instanceof UnavailableException, refused.toString());
        assertEquals(ring, Files.readString(ringFile), "a failed start changes nothing");
        KeyMetadata during = ops.generate(KeySpec.builder().name("svc-kek-2").type(KeyType.L3).algorithm("AES")
                .keySize(256).owner(Owner.service("payments")).build());
        try (KeyMaterial m = ops.get(during.id())) {
            assertEquals(32, m.length(), "sealed and opened while the root is unreachable");
        }
        // a reload needs the root: it fails as unavailable, and the ring in force stays
        config.put("reload", "during-the-outage");
        KeystoreException reload = assertThrows(KeystoreException.class,
                () -> provider.modified(ComponentConfigs.of(Pkcs11KekProvider.Config.class, config)));
        assertTrue(reload instanceof UnavailableException, reload.toString());
        try (KeyMaterial m = ops.get(before.id())) {
            assertEquals(32, m.length(), "opens after the failed reload");
        }
        // a runtime started during the outage has no ring: its records are unavailable, not integrity errors
        DefaultKeystoreOperations restarted = DefaultKeystoreOperations.of(backend, List.<KekProvider>of())
                .knownKeks(KnownKeks.open(dir.resolve("known-keks"))).sealWith(KEK_ID);
        KeystoreException open = assertThrows(KeystoreException.class, () -> restarted.get(before.id()));
        assertTrue(open instanceof UnavailableException, open.toString());
        assertTrue(open.getMessage().contains("is not present, but records may still be sealed under it"), open.getMessage());
        assertEquals(ring, Files.readString(ringFile), "nothing during the outage changed the ring");
    }

    @Test
    void aRingSealedByAnotherTokenKeyOrAlteredIsAnIntegrityError() throws IOException {
        Map<String, Object> config = config();
        start(config);
        config.put("key.label", label + "-other");
        assertThrows(IntegrityException.class, () -> start(config));

        config.put("key.label", label);
        String text = Files.readString(ringFile);
        String line = text.lines().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
        byte[] sealed = Base64.getDecoder().decode(line.split(" ")[1]);
        sealed[sealed.length - 1] ^= 1;
        Files.writeString(ringFile, text.replace(line.split(" ")[1], Base64.getEncoder().encodeToString(sealed)));
        assertThrows(IntegrityException.class, () -> start(config));
    }

    @Test
    void raisingKekVersionsAddsAVersionSealedInTheToken() {
        Map<String, Object> config = config();
        Pkcs11KekProvider provider = start(config);
        byte[] dk = dataKey();
        byte[] underV1 = provider.wrap(1, dk);
        config.put("kek.versions", "2");
        provider.modified(ComponentConfigs.of(Pkcs11KekProvider.Config.class, config));
        assertEquals(List.of(1, 2), provider.versions());
        Pkcs11KekProvider restarted = start(config);
        assertArrayEquals(dk, restarted.unwrap(1, underV1));
        assertArrayEquals(dk, restarted.unwrap(2, provider.wrap(2, dk)));
    }

    @Test
    void badConfigurationIsRefusedWithItsAttributeAndNothingIsWritten() {
        Map<String, Object> config = config();

        config.put("create.key", "false");
        InvalidInputException noKey = assertThrows(InvalidInputException.class, () -> start(config));
        assertTrue(noKey.getMessage().contains("has no AES key labelled " + label), noKey.getMessage());
        config.put("create.key", "true");

        config.put("pin.source", SoftHsm.pinFile(SoftHsm.kekSecrets(), "wrong-pin"));
        UnavailableException wrongPin = assertThrows(UnavailableException.class, () -> start(config));
        assertTrue(wrongPin.getMessage().contains("login to the PKCS#11 token"), wrongPin.getMessage());
        assertFalse(wrongPin.getMessage().contains("wrong-pin") && !wrongPin.getMessage().contains("(wrong PIN"),
                wrongPin.getMessage());

        config.put("pin.source", PIN);
        assertEquals("pin.source", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("pin.source", SoftHsm.pinFile(SoftHsm.kekSecrets(), PIN));

        config.put("library", "/usr/lib/no-such-pkcs11.so");
        assertEquals("library", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("library", SoftHsm.MODULE.toString());

        config.put("slot", "987654");
        assertThrows(UnavailableException.class, () -> start(config));
        config.put("slot", String.valueOf(slot));

        config.put("slot.list.index", "0");
        assertEquals("slot", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.remove("slot.list.index");

        assertFalse(Files.exists(ringFile), "no refused configuration wrote a ring");
        assertTrue(spareSlot != slot);
    }
}
