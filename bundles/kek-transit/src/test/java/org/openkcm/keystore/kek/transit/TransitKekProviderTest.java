package org.openkcm.keystore.kek.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
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
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.sdk.ComponentConfigs;
import org.openkcm.keystore.secrets.SecretPolicy;

/** The Transit KEK provider against a real OpenBao dev server with the Transit engine. */
class TransitKekProviderTest {
    /** The id the configuration gives the ring; the core seals under another bundle's KEK only when named. */
    private static final String KEK_ID = "transit";

    private static final AtomicInteger KEYS = new AtomicInteger();
    private static TransitServer bao;

    @TempDir
    Path dir;
    private String key;
    private Path ringFile;

    @BeforeAll
    static void startOpenBao() {
        bao = TransitServer.start();
    }

    @AfterAll
    static void stopOpenBao() {
        bao.close();
    }

    @BeforeEach
    void freshTransitKey() {
        key = "ring-root-" + KEYS.incrementAndGet();
        bao.createKey(key);
        ringFile = dir.resolve("kek/transit.ring");
    }

    private Map<String, Object> config(TransitServer server) {
        Map<String, Object> c = new HashMap<>();
        c.put("address", server.address());
        c.put("key.name", key);
        c.put("token.source", server.tokenReference(dir));
        c.put("ring.file", ringFile.toString());
        c.put("timeout.seconds", "3");
        return c;
    }

    private static TransitKekProvider start(Map<String, Object> config) {
        TransitKekProvider provider = new TransitKekProvider();
        provider.activate(ComponentConfigs.of(TransitKekProvider.Config.class, config));
        return provider;
    }

    private static TransitKekProvider startWith(Map<String, Object> config, Map<String, String> environment) {
        TransitKekProvider provider = new TransitKekProvider();
        provider.load(TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), System::getProperty),
                environment::get);
        return provider;
    }

    private static byte[] dataKey() {
        byte[] k = new byte[KekProvider.DATA_KEY_BYTES];
        new SecureRandom().nextBytes(k);
        return k;
    }

    @Test
    void theWrapSettingChoosesHowNewDataKeysAreWrappedAndBothFormsUnwrap() throws IOException {
        Map<String, Object> config = config(bao);
        config.put("wrap", "kw");
        TransitKekProvider kw = start(config);
        byte[] dk = new byte[32];
        dk[0] = 7;
        byte[] kwWrapped = kw.wrap(1, dk);
        assertEquals(LocalKekRing.KW_WRAPPED_BYTES, kwWrapped.length, "wrap = kw writes what an older runtime reads");
        config.remove("wrap");
        TransitKekProvider gcm = start(config);
        byte[] gcmWrapped = gcm.wrap(1, dk);
        assertEquals(LocalKekRing.GCM_WRAPPED_BYTES, gcmWrapped.length, "the default is the GCM wrap");
        assertArrayEquals(dk, gcm.unwrap(1, kwWrapped));
        assertArrayEquals(dk, kw.unwrap(1, gcmWrapped));
        config.put("wrap", "aes");
        assertThrows(InvalidInputException.class, () -> start(config));
    }

    @Test
    void theFirstStartSealsANewRingThroughTransitAndTheNextStartUnsealsTheSameKek() throws IOException {
        TransitKekProvider first = start(config(bao));
        String text = Files.readString(ringFile);
        assertTrue(text.contains("openkcm-sealed-kek-ring 2 transit"), text);
        assertTrue(text.contains("\n1 ") && text.contains(java.util.Base64.getEncoder()
                .encodeToString("vault:v1:".getBytes(StandardCharsets.US_ASCII)).substring(0, 8)), text);
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(ringFile)));

        TransitKekProvider second = start(config(bao));
        assertEquals("transit", second.kekId());
        assertEquals(List.of(1), second.versions());
        byte[] dk = dataKey();
        assertArrayEquals(dk, second.unwrap(1, first.wrap(1, dk)));
        byte[] label = "key check value".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(first.mac(1, label), second.mac(1, label), "the MAC is a function of the KEK version");
        assertEquals(text, Files.readString(ringFile), "an unchanged ring is not rewritten");
    }

    @Test
    void recordsSealedThroughTheCoreOpenWithTheRingUnsealedByAnotherStart() {
        MemoryKeystore backend = new MemoryKeystore();
        KeyMetadata generated;
        byte[] material;
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(start(config(bao))))
                .sealWith(KEK_ID);
        generated = ops.generate(KeySpec.builder().name("tenant-kek").type(KeyType.L3).algorithm("AES").keySize(256)
                .owner(Owner.tenant("acme")).build());
        try (KeyMaterial m = ops.get(generated.id())) {
            material = m.copyBytes();
        }
        DefaultKeystoreOperations restarted = DefaultKeystoreOperations.of(backend,
                List.<KekProvider>of(start(config(bao))))
                .sealWith(KEK_ID);
        try (KeyMaterial m = restarted.get(generated.id())) {
            assertArrayEquals(material, m.copyBytes());
        }
    }

    @Test
    void whileOpenBaoIsStoppedRecordsStillOpenAndSealAndAStartFailsAsUnavailable() throws IOException {
        TransitServer own = TransitServer.start();
        try {
            own.createKey(key);
            Map<String, Object> config = config(own);
            MemoryKeystore backend = new MemoryKeystore();
            TransitKekProvider provider = start(config);
            DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(provider))
                    .knownKeks(KnownKeks.open(dir.resolve("known-keks"))).sealWith(KEK_ID);
            KeyMetadata before = ops.generate(KeySpec.builder().name("svc-kek").type(KeyType.L3).algorithm("AES")
                    .keySize(256).owner(Owner.service("payments")).build());
            String ring = Files.readString(ringFile);

            own.stop();

            try (KeyMaterial m = ops.get(before.id())) {
                assertEquals(32, m.length());
            }
            KeyMetadata during = ops.generate(KeySpec.builder().name("svc-kek-2").type(KeyType.L3).algorithm("AES")
                    .keySize(256).owner(Owner.service("payments")).build());
            try (KeyMaterial m = ops.get(during.id())) {
                assertEquals(32, m.length());
            }
            KeystoreException refused = assertThrows(KeystoreException.class, () -> start(config));
            assertTrue(refused instanceof UnavailableException, refused.toString());
            assertTrue(refused.getMessage().contains("cannot be reached"), refused.getMessage());
            assertFalse(refused.getMessage().contains(own.rootToken));
            assertEquals(ring, Files.readString(ringFile), "a failed start changes nothing");
            // a reload needs the root: it fails as unavailable, and the ring in force stays
            config.put("reload", "during-the-outage");
            KeystoreException reload = assertThrows(KeystoreException.class,
                    () -> provider.modified(ComponentConfigs.of(TransitKekProvider.Config.class, config)));
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
        } finally {
            own.close();
        }
    }

    @Test
    void aTransitKeyRotationRewrapsTheRingAtTheNextLoadAndOldRecordsStillOpen() throws IOException {
        Map<String, Object> config = config(bao);
        TransitKekProvider provider = start(config);
        byte[] dk = dataKey();
        byte[] wrapped = provider.wrap(1, dk);
        String underV1 = Files.readString(ringFile);
        assertEquals(1, TransitRootKey.sealedVersion(sealedOf(underV1)));

        bao.rotate(key);
        config.put("reload", "after-rotate");
        provider.modified(ComponentConfigs.of(TransitKekProvider.Config.class, config));
        String underV2 = Files.readString(ringFile);
        assertEquals(2, TransitRootKey.sealedVersion(sealedOf(underV2)), "rewrapped with transit/rewrap");
        assertArrayEquals(dk, provider.unwrap(1, wrapped));

        bao.minDecryptionVersion(key, 2);
        TransitKekProvider restarted = start(config);
        assertArrayEquals(dk, restarted.unwrap(1, wrapped), "the same KEK, sealed under Transit v2");

        Files.writeString(ringFile, underV1);
        assertThrows(IntegrityException.class, () -> start(config),
                "the ring as sealed before the rotation no longer unseals once v1 may not decrypt");
    }

    @Test
    void raisingKekVersionsAddsAVersionThatSealsWhileTheOldOneStillOpens() {
        Map<String, Object> config = config(bao);
        TransitKekProvider provider = start(config);
        byte[] dk = dataKey();
        byte[] underV1 = provider.wrap(1, dk);
        config.put("kek.versions", "2");
        provider.modified(ComponentConfigs.of(TransitKekProvider.Config.class, config));
        assertEquals(List.of(1, 2), provider.versions());
        assertEquals(2, provider.currentVersion());
        assertArrayEquals(dk, provider.unwrap(1, underV1));
        TransitKekProvider restarted = start(config);
        assertArrayEquals(dk, restarted.unwrap(2, provider.wrap(2, dk)));
    }

    @Test
    void aRingSealedByAnotherTransitKeyOrAlteredIsAnIntegrityError() throws IOException {
        Map<String, Object> config = config(bao);
        start(config);
        String other = key + "-other";
        bao.createKey(other);
        config.put("key.name", other);
        assertThrows(IntegrityException.class, () -> start(config));

        config.put("key.name", key);
        String text = Files.readString(ringFile);
        String line = text.lines().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
        byte[] sealed = java.util.Base64.getDecoder().decode(line.split(" ")[1]);
        sealed[sealed.length - 3] ^= 1;
        Files.writeString(ringFile, text.replace(line.split(" ")[1], java.util.Base64.getEncoder().encodeToString(sealed)));
        assertThrows(IntegrityException.class, () -> start(config));
    }

    @Test
    void aVersionMovedWithinTheRingIsRefused() throws IOException {
        Map<String, Object> config = config(bao);
        config.put("kek.versions", "2");
        start(config);
        String text = Files.readString(ringFile);
        String swapped = text.replaceFirst("\n1 ", "\nX ").replaceFirst("\n2 ", "\n1 ").replaceFirst("\nX ", "\n2 ");
        Files.writeString(ringFile, swapped);
        IntegrityException e = assertThrows(IntegrityException.class, () -> start(config));
        assertTrue(e.getMessage().contains("another ring or version"), e.getMessage());
    }

    @Test
    void plainHttpGoesOnlyToALiteralLoopbackAddress() {
        Map<String, Object> config = config(bao);
        for (String address : new String[] {"http://bao.example.net:8200", "http://localhost:8200",
                "http://127.0.0.1.example.net:8200"}) {
            config.put("address", address);
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), System::getProperty));
            assertEquals("address", e.field());
            assertTrue(e.getMessage().contains("plain http:// to a host that is not a literal loopback address"),
                    e.getMessage());
        }
        for (String address : new String[] {"https://bao.example.net:8200", "http://127.0.0.1:8200", "http://[::1]:8200"}) {
            config.put("address", address);
            TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), System::getProperty);
        }
        assertFalse(Files.exists(ringFile), "nothing was written");
    }

    @Test
    void underTheOperatorsAllowListTheTokenMustBeAKekSourceNeverABackendCredential() throws IOException {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Map<String, String> properties = Map.of(SecretPolicy.DIR, secrets.toString());
        Map<String, Object> config = config(bao);

        // A credential source (the kind an OpenBao backend sends as its token) is refused here.
        Path credential = Files.move(Path.of(bao.tokenReference(dir).substring(5)), secrets.resolve("bao-token"));
        config.put("token.source", "file:" + credential);
        InvalidInputException asCredential = assertThrows(InvalidInputException.class,
                () -> TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), properties::get));
        assertEquals("token.source", asCredential.field());
        assertTrue(asCredential.getMessage().contains("'file:" + credential + "' is not an allowed secret source: a KEK"
                + " provider's secret file must be under " + secrets.resolve("kek")), asCredential.getMessage());
        config.put("token.source", "env:OPENKCM_SECRET_BAO_TOKEN");
        InvalidInputException env = assertThrows(InvalidInputException.class,
                () -> TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), properties::get));
        assertTrue(env.getMessage().contains("must be a variable named OPENKCM_SECRET_KEK_"), env.getMessage());
        config.put("token.source", "file:" + dir.resolve("bao-token"));
        assertThrows(InvalidInputException.class,
                () -> TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), properties::get));
        assertFalse(Files.exists(ringFile), "nothing was written");

        // The same token under <secrets>/kek/ is a KEK source: the provider starts with it.
        Path kekToken = Files.move(credential, Files.createDirectories(secrets.resolve("kek")).resolve("transit-token"));
        config.put("token.source", "file:" + kekToken);
        TransitKekProvider provider = new TransitKekProvider();
        provider.load(TransitSettings.from(ComponentConfigs.of(TransitKekProvider.Config.class, config), properties::get),
                k -> null);
        try {
            assertTrue(Files.exists(ringFile));
        } finally {
            provider.deactivate();
        }
    }

    @Test
    void badConfigurationIsRefusedWithItsAttributeAndNothingIsWritten() throws IOException {
        Map<String, Object> config = config(bao);

        config.put("key.name", "no-such-key");
        InvalidInputException missing = assertThrows(InvalidInputException.class, () -> start(config));
        assertTrue(missing.getMessage().contains("transit/keys/no-such-key does not exist")
                && missing.getMessage().contains("bao write -f transit/keys/no-such-key"), missing.getMessage());
        config.put("key.name", key);

        config.put("token.source", bao.rootToken);
        InvalidInputException inline = assertThrows(InvalidInputException.class, () -> start(config));
        assertTrue(inline.getMessage().contains("token.source"), inline.getMessage());
        assertFalse(inline.getMessage().contains(bao.rootToken), "the value is never echoed");

        config.put("token.source", "env:OPENKCM_SECRET_KEK_TEST_NO_SUCH_TOKEN");
        UnavailableException unset = assertThrows(UnavailableException.class, () -> startWith(config, Map.of()));
        assertTrue(unset.getMessage().contains("OPENKCM_SECRET_KEK_TEST_NO_SUCH_TOKEN is not set"), unset.getMessage());

        UnavailableException denied = assertThrows(UnavailableException.class,
                () -> startWith(config, Map.of("OPENKCM_SECRET_KEK_TEST_NO_SUCH_TOKEN", "not-a-valid-token")));
        assertTrue(denied.getMessage().contains("permission denied"), denied.getMessage());

        // inside the allow-listed KEK folder, so that what refuses it is its mode
        Path groupReadable = Path.of(bao.tokenReference(dir).substring("file:".length())).resolveSibling("token-0644");
        Files.writeString(groupReadable, bao.rootToken);
        Files.setPosixFilePermissions(groupReadable, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        config.put("token.source", "file:" + groupReadable);
        assertThrows(PolicyRefusedException.class, () -> start(config));
        config.put("token.source", bao.tokenReference(dir));

        config.put("address", "openbao:8200");
        assertEquals("address", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("address", bao.address());

        config.put("create", "false");
        InvalidInputException absent = assertThrows(InvalidInputException.class, () -> start(config));
        assertTrue(absent.getMessage().contains("does not exist and create is false"), absent.getMessage());
        config.put("create", "true");

        config.put("kek.versions", "0");
        assertEquals("kek.versions", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("kek.versions", "1");

        assertFalse(Files.exists(ringFile), "no refused configuration wrote a ring");

        start(config);
        config.put("kek.id", "another-id");
        InvalidInputException otherId = assertThrows(InvalidInputException.class, () -> start(config));
        assertTrue(otherId.getMessage().contains("holds KEK id 'transit', not 'another-id'"), otherId.getMessage());
    }

    @Test
    void anUnloadedProviderIsUnavailable() {
        TransitKekProvider provider = start(config(bao));
        provider.deactivate();
        assertThrows(UnavailableException.class, () -> provider.wrap(1, dataKey()));
    }

    private static byte[] sealedOf(String ringText) {
        String line = ringText.lines().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
        return java.util.Base64.getDecoder().decode(line.split(" ")[1]);
    }
}
