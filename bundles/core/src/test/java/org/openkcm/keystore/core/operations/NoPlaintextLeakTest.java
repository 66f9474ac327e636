package org.openkcm.keystore.core.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.admin.Administration;
import org.openkcm.keystore.core.testing.TestKeks;

/**
 * Every byte handed to (and returned by) the plugin, across every operation, success and failure,
 * is recorded: no key's material appears in it, nor in the captured log or any exception message,
 * nor in KeyMaterial's toString. The KEK bytes do not appear either.
 */
class NoPlaintextLeakTest {
    private final TestKeks.Fixed kek = TestKeks.fixed("test", 1);
    private final Fixture f = new Fixture(kek);
    private final Map<KeyId, byte[]> materials = new LinkedHashMap<>();
    private final ByteArrayOutputStream messages = new ByteArrayOutputStream();

    private void expectFailure(Runnable call) {
        try {
            call.run();
        } catch (KeystoreException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                messages.writeBytes(String.valueOf(t).getBytes(StandardCharsets.UTF_8));
                for (Throwable s : t.getSuppressed()) {
                    messages.writeBytes(String.valueOf(s).getBytes(StandardCharsets.UTF_8));
                }
            }
            return;
        }
        throw new AssertionError("expected a failure");
    }

    private void remember(KeyId id) {
        try (KeyMaterial m = f.ops.get(id)) {
            materials.put(id, m.copyBytes());
            messages.writeBytes(m.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void noMaterialReachesThePluginTheLogOrAnyMessage() {
        // Every operation, each algorithm and tier.
        List<KeyId> ids = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            for (Map.Entry<String, List<Integer>> alg : Algorithms.OFFERED.entrySet()) {
                for (int size : alg.getValue()) {
                    String name = type + "-" + alg.getKey().toLowerCase() + "-" + size;
                    ids.add(f.ops.generate(KeySpec.builder().name(name).type(type).algorithm(alg.getKey()).keySize(size)
                            .owner(Owner.tenant("t")).tags(Map.of("k", "v")).build()).id());
                }
            }
        }
        byte[] imported = new byte[32];
        for (int i = 0; i < imported.length; i++) {
            imported[i] = (byte) (0xA5 ^ i);
        }
        try (KeyMaterial m = KeyMaterial.copyOf(imported)) {
            ids.add(f.ops.importKey(Fixture.spec("imported").build(), m).id());
        }
        ids.forEach(this::remember);
        KeyMetadata v2 = f.ops.rotate("imported");
        remember(v2.id());
        KeyId a = ids.get(0);
        KeyMetadata m = f.ops.metadata(a);
        m = f.ops.changeTags(a, Map.of("x", "y"), m.revision());
        m = f.ops.changeExpiry(a, Fixture.T0.plusSeconds(10), m.revision());
        m = f.ops.changeStatus(a, KeyStatus.DEPRECATED, m.revision());
        f.ops.list(KeyFilter.builder().pageSize(3).build());
        f.ops.list(KeyFilter.all());

        // Failures: bad input, conflicts, policy, integrity.
        long stale = m.revision() - 1;
        expectFailure(() -> f.ops.changeStatus(a, KeyStatus.RETIRED, stale));
        expectFailure(() -> f.ops.generate(Fixture.spec("x").algorithm("DES").build()));
        expectFailure(() -> f.ops.generate(Fixture.spec("x").keySize(100).build()));
        try (KeyMaterial wrong = KeyMaterial.copyOf(materials.get(ids.get(1)))) {
            expectFailure(() -> f.ops.importKey(Fixture.spec("y").keySize(128).build(), wrong));
        }
        KeyId retired = ids.get(2);
        f.ops.changeStatus(retired, KeyStatus.RETIRED, f.ops.metadata(retired).revision());
        expectFailure(() -> f.ops.get(retired));
        f.clock.advanceMillis(20_000);
        expectFailure(() -> f.ops.get(a));
        KeyId tampered = ids.get(3);
        StoredKey stored = f.raw(tampered);
        byte[] bytes = stored.sealed().bytes();
        bytes[bytes.length - 3] ^= 1;
        f.backend.rawPut(tampered, SealedKey.of(bytes), stored.metadata());
        expectFailure(() -> f.ops.get(tampered));
        f.backend.rawPut(tampered, stored.sealed(), stored.metadata().toBuilder().status(KeyStatus.ACTIVE).revision(9).build());
        expectFailure(() -> f.ops.get(tampered));
        f.backend.rawPut(tampered, stored.sealed(), stored.metadata());

        // KEK rotation and re-wrap, then deletes.
        kek.replace("test", Map.of(1, TestKeks.kek(1), 2, TestKeks.kek(2)));
        RewrapReport report = Administration.of(f.ops).rewrapAll();
        assertTrue(report.rewrapped() > 0);
        for (KeyId id : ids) {
            if (!id.equals(retired) && !id.equals(a)) {
                f.ops.get(id).close();
            }
        }
        f.ops.delete(ids.get(4));
        f.ops.deleteAllVersions("imported");

        byte[] plugin = f.backend.recorded();
        String pluginText = new String(plugin, StandardCharsets.ISO_8859_1);
        String log = f.log.text();
        String exceptions = messages.toString(StandardCharsets.UTF_8);
        assertFalse(log.isEmpty(), "something was logged");
        assertTrue(exceptions.contains("integrity"), "failures were captured");
        assertTrue(materials.size() >= 22);

        Map<String, byte[]> secrets = new LinkedHashMap<>();
        materials.forEach((id, material) -> secrets.put("material of " + id, material));
        secrets.put("KEK v1", TestKeks.kek(1));
        secrets.put("KEK v2", TestKeks.kek(2));
        for (Map.Entry<String, byte[]> secret : secrets.entrySet()) {
            byte[] s = secret.getValue();
            assertEquals(-1, indexOf(plugin, s), secret.getKey() + " reached the plugin");
            for (String form : forms(s)) {
                for (Map.Entry<String, String> where : Map.of("plugin", pluginText, "log", log,
                        "exception messages", exceptions).entrySet()) {
                    assertFalse(where.getValue().contains(form), secret.getKey() + " appears in the " + where.getKey());
                }
            }
        }
    }

    /** The textual forms material could leak in: hex either case, base64 and base64url, Latin-1 bytes. */
    private static List<String> forms(byte[] s) {
        return List.of(HexFormat.of().formatHex(s), HexFormat.of().withUpperCase().formatHex(s),
                Base64.getEncoder().encodeToString(s), Base64.getUrlEncoder().withoutPadding().encodeToString(s),
                new String(s, StandardCharsets.ISO_8859_1), java.util.Arrays.toString(s));
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
