package org.openkcm.keystore.kek.awskms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.memory.MemoryKeystore;
import org.openkcm.keystore.kek.awskms.testing.MotoServer;
import org.openkcm.keystore.sdk.ComponentConfigs;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;

/** The AWS KMS KEK provider against a real KMS-compatible server (moto in server mode) on loopback. */
class KmsKekProviderTest {
    /** The id the configuration gives the ring; the core seals under another bundle's KEK only when named. */
    private static final String KEK_ID = "awskms";

    private static MotoServer moto;

    @TempDir
    Path dir;
    private String keyId;
    private Path ringFile;

    @BeforeAll
    static void startMoto() {
        moto = MotoServer.start();
    }

    @AfterAll
    static void stopMoto() {
        moto.close();
    }

    @BeforeEach
    void freshKey() {
        keyId = moto.createKey();
        ringFile = dir.resolve("kek/awskms.ring");
    }

    /** The secret key in an owner-only file under the allow-listed KEK secrets folder the build sets. */
    private Path secretFile() throws IOException {
        return Files.createDirectories(Path.of(System.getProperty("openkcm.secrets.dir"), "kek",
                dir.getFileName().toString())).resolve("aws-secret");
    }

    private Map<String, Object> config(MotoServer server) throws IOException {
        Path secret = secretFile();
        if (!Files.exists(secret)) {
            Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(secret, MotoServer.SECRET_ACCESS_KEY);
        }
        Map<String, Object> c = new HashMap<>();
        c.put("key.id", keyId);
        c.put("region", MotoServer.REGION);
        c.put("endpoint", server.endpoint.toString());
        c.put("credentials", "static");
        c.put("access.key.id", MotoServer.ACCESS_KEY_ID);
        c.put("secret.access.key.source", "file:" + secret);
        c.put("timeout.seconds", "2");
        c.put("ring.file", ringFile.toString());
        return c;
    }

    private static KmsKekProvider start(Map<String, Object> config) {
        KmsKekProvider provider = new KmsKekProvider();
        provider.activate(ComponentConfigs.of(KmsKekProvider.Config.class, config));
        return provider;
    }

    private static byte[] dataKey() {
        byte[] k = new byte[KekProvider.DATA_KEY_BYTES];
        new SecureRandom().nextBytes(k);
        return k;
    }

    @Test
    void theWrapSettingChoosesHowNewDataKeysAreWrappedAndBothFormsUnwrap() throws IOException {
        Map<String, Object> config = config(moto);
        config.put("wrap", "kw");
        KmsKekProvider kw = start(config);
        byte[] dk = new byte[32];
        dk[0] = 7;
        byte[] kwWrapped = kw.wrap(1, dk);
        assertEquals(LocalKekRing.KW_WRAPPED_BYTES, kwWrapped.length, "wrap = kw writes what an older runtime reads");
        config.remove("wrap");
        KmsKekProvider gcm = start(config);
        byte[] gcmWrapped = gcm.wrap(1, dk);
        assertEquals(LocalKekRing.GCM_WRAPPED_BYTES, gcmWrapped.length, "the default is the GCM wrap");
        assertArrayEquals(dk, gcm.unwrap(1, kwWrapped));
        assertArrayEquals(dk, kw.unwrap(1, gcmWrapped));
        config.put("wrap", "aes");
        assertThrows(InvalidInputException.class, () -> start(config));
    }

    @Test
    void theFirstVersionComesFromGenerateDataKeyAndASecondStartDecryptsTheSameRing() throws IOException {
        KmsKekProvider first = start(config(moto));
        String text = Files.readString(ringFile);
        assertTrue(text.contains("openkcm-sealed-kek-ring 2 awskms") && text.contains("AWS KMS key " + keyId), text);

        KmsKekProvider second = start(config(moto));
        byte[] dk = dataKey();
        assertArrayEquals(dk, second.unwrap(1, first.wrap(1, dk)));
        byte[] label = "key check value".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(first.mac(1, label), second.mac(1, label));
        assertEquals(text, Files.readString(ringFile));
    }

    @Test
    void theSealedVersionCarriesItsEncryptionContext() throws IOException {
        start(config(moto));
        byte[] sealed = sealedVersion(1);
        try (KmsClient kms = moto.client()) {
            assertEquals(32, kms.decrypt(r -> r.ciphertextBlob(SdkBytes.fromByteArray(sealed))
                    .encryptionContext(Map.of(KmsRootKey.CONTEXT_KEY, "openkcm-keystore/kek-ring/v1/awskms/1")))
                    .plaintext().asByteArray().length);
            assertThrows(software.amazon.awssdk.services.kms.model.InvalidCiphertextException.class,
                    () -> kms.decrypt(r -> r.ciphertextBlob(SdkBytes.fromByteArray(sealed))));
        }
    }

    @Test
    void recordsSealedThroughTheCoreOpenAfterARestart() throws IOException {
        MemoryKeystore backend = new MemoryKeystore();
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(start(config(moto))))
                .sealWith(KEK_ID);
        KeyMetadata generated = ops.generate(KeySpec.builder().name("tenant-kek").type(KeyType.L2).algorithm("AES")
                .keySize(256).owner(Owner.tenant("acme")).build());
        byte[] material;
        try (KeyMaterial m = ops.get(generated.id())) {
            material = m.copyBytes();
        }
        DefaultKeystoreOperations restarted = DefaultKeystoreOperations.of(backend,
                List.<KekProvider>of(start(config(moto))))
                .sealWith(KEK_ID);
        try (KeyMaterial m = restarted.get(generated.id())) {
            assertArrayEquals(material, m.copyBytes());
        }
    }

    @Test
    void whileKmsIsStoppedRecordsStillOpenAndAStartFailsAsUnavailable() throws IOException {
        try (MotoServer own = MotoServer.start()) {
            keyId = own.createKey();
            Map<String, Object> config = config(own);
            MemoryKeystore backend = new MemoryKeystore();
            KmsKekProvider provider = start(config);
            DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(provider))
                    .knownKeks(KnownKeks.open(dir.resolve("known-keks"))).sealWith(KEK_ID);
            KeyMetadata before = ops.generate(KeySpec.builder().name("svc-kek").type(KeyType.L3).algorithm("AES")
                    .keySize(256).owner(Owner.service("payments")).build());
            String ring = Files.readString(ringFile);

            own.stop();

            try (KeyMaterial m = ops.get(before.id())) {
                assertEquals(32, m.length());
            }
            KeystoreException refused = assertThrows(KeystoreException.class, () -> start(config));
            assertTrue(refused instanceof UnavailableException, refused.toString());
            assertTrue(refused.getMessage().contains("cannot be reached"), refused.getMessage());
            assertEquals(ring, Files.readString(ringFile), "a failed start changes nothing");
            KeyMetadata during = ops.generate(KeySpec.builder().name("svc-kek-2").type(KeyType.L3).algorithm("AES")
                    .keySize(256).owner(Owner.service("payments")).build());
            try (KeyMaterial m = ops.get(during.id())) {
                assertEquals(32, m.length(), "sealed and opened while the root is unreachable");
            }
            // a reload needs the root: it fails as unavailable, and the ring in force stays
            config.put("reload", "during-the-outage");
            KeystoreException reload = assertThrows(KeystoreException.class,
                    () -> provider.modified(ComponentConfigs.of(KmsKekProvider.Config.class, config)));
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
    }

    @Test
    void aRingSealedUnderAnotherKeyOrAlteredIsAnIntegrityError() throws IOException {
        Map<String, Object> config = config(moto);
        start(config);
        // AWS answers IncorrectKeyException (an integrity error here); moto answers AccessDenied (unavailable):
        // either way the ring is refused and nothing is installed.
        config.put("key.id", moto.createKey());
        assertThrows(KeystoreException.class, () -> start(config));

        config.put("key.id", keyId);
        config.put("kek.versions", "2");
        start(config);
        String text = Files.readString(ringFile);
        String swapped = text.replaceFirst("\n1 ", "\nX ").replaceFirst("\n2 ", "\n1 ").replaceFirst("\nX ", "\n2 ");
        Files.writeString(ringFile, swapped);
        assertThrows(IntegrityException.class, () -> start(config), "a version moved within the ring fails its encryption context");
        Files.writeString(ringFile, text);
        String line = text.lines().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
        byte[] sealed = Base64.getDecoder().decode(line.split(" ")[1]);
        sealed[sealed.length - 1] ^= 1;
        Files.writeString(ringFile, text.replace(line.split(" ")[1], Base64.getEncoder().encodeToString(sealed)));
        assertThrows(IntegrityException.class, () -> start(config));
    }

    @Test
    void raisingKekVersionsAddsAVersion() throws IOException {
        Map<String, Object> config = config(moto);
        KmsKekProvider provider = start(config);
        byte[] dk = dataKey();
        byte[] underV1 = provider.wrap(1, dk);
        config.put("kek.versions", "2");
        provider.modified(ComponentConfigs.of(KmsKekProvider.Config.class, config));
        assertEquals(List.of(1, 2), provider.versions());
        KmsKekProvider restarted = start(config);
        assertArrayEquals(dk, restarted.unwrap(1, underV1));
        assertArrayEquals(dk, restarted.unwrap(2, provider.wrap(2, dk)));
    }

    @Test
    void badConfigurationIsRefusedWithItsAttributeAndNothingIsWritten() throws IOException {
        Map<String, Object> config = config(moto);

        config.put("key.id", "alias/no-such-key");
        InvalidInputException missing = assertThrows(InvalidInputException.class, () -> start(config));
        assertTrue(missing.getMessage().contains("key alias/no-such-key in eu-central-1") && missing.getMessage().contains("does not exist"), missing.getMessage());
        config.put("key.id", keyId);

        config.put("secret.access.key.source", MotoServer.SECRET_ACCESS_KEY);
        InvalidInputException inline = assertThrows(InvalidInputException.class, () -> start(config));
        assertEquals("secret.access.key.source", inline.field());
        assertFalse(inline.getMessage().contains(MotoServer.SECRET_ACCESS_KEY));
        config.put("secret.access.key.source", "file:" + secretFile());

        config.put("region", "Frankfurt");
        assertEquals("region", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("region", MotoServer.REGION);

        config.put("credentials", "anonymous");
        assertEquals("credentials", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("credentials", "static");

        config.put("endpoint", "kms.local:4566");
        assertEquals("endpoint", assertThrows(InvalidInputException.class, () -> start(config)).field());
        config.put("endpoint", moto.endpoint.toString());

        config.put("create", "false");
        assertEquals("ring.file", assertThrows(InvalidInputException.class, () -> start(config)).field());

        assertFalse(Files.exists(ringFile), "no refused configuration wrote a ring");
    }

    private byte[] sealedVersion(int version) throws IOException {
        String line = Files.readString(ringFile).lines().filter(l -> l.startsWith(version + " ")).findFirst().orElseThrow();
        return Base64.getDecoder().decode(line.split(" ")[1]);
    }
}
