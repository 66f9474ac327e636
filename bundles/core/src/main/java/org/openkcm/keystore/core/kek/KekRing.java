package org.openkcm.keystore.core.kek;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import javax.crypto.Cipher;
import javax.crypto.Mac;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.Hkdf;

/**
 * The versions of one locally held KEK, and the operations {@link KekProvider} offers on them:
 * <ul>
 * <li>wrap and unwrap: AES Key Wrap (RFC 3394, NIST SP 800-38F "KW", the JDK's
 * {@code AES/KW/NoPadding}) of the 32-byte data key under the 256-bit KEK, 40 bytes out. KW is
 * deterministic and needs no nonce, so a KEK version has no nonce budget to exhaust, and its
 * 64-bit integrity check refuses a wrapped key that was altered or wrapped under another KEK;</li>
 * <li>mac: HMAC-SHA256 under {@code HKDF-SHA256(salt = none, IKM = KEK, info =
 * "openkcm-keystore/kek/lifecycle-mac/v1", L = 32)}, so the KEK itself keys nothing but the wrap.</li>
 * </ul>
 * Immutable and thread-safe; {@link #destroy()} wipes the key bytes it holds.
 */
public final class KekRing {
    /** Length of every KEK version in bytes (AES-256). */
    public static final int KEK_BYTES = 32;
    static final byte[] MAC_INFO = "openkcm-keystore/kek/lifecycle-mac/v1".getBytes(StandardCharsets.US_ASCII);

    private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    });

    private final String kekId;
    private final NavigableMap<Integer, KekKey> wrapKeys;
    private final Map<Integer, KekKey> macKeys;
    private final List<Integer> versions;
    /**
     * Per thread, this ring's KW ciphers, one per version and direction, initialised once: a
     * cipher's doFinal leaves it initialised with the same key, and an init (the key schedule and
     * the JCE's checks) cost about as much as the wrap itself. They go with the ring (or the
     * thread); once the ring is destroyed they are never used again.
     */
    private final ThreadLocal<Map<Integer, Cipher>> wrapCiphers = ThreadLocal.withInitial(HashMap::new);
    private final ThreadLocal<Map<Integer, Cipher>> unwrapCiphers = ThreadLocal.withInitial(HashMap::new);
    private volatile boolean destroyed;

    private KekRing(String kekId, NavigableMap<Integer, KekKey> wrapKeys, Map<Integer, KekKey> macKeys) {
        this.kekId = kekId;
        this.wrapKeys = wrapKeys;
        this.macKeys = macKeys;
        this.versions = List.copyOf(wrapKeys.keySet());
    }

    /**
     * A ring of the given versions. The arrays are copied; the caller wipes its own.
     *
     * @throws InvalidInputException if there is no version, a version is below 1 or a key is not 32 bytes
     */
    public static KekRing of(String kekId, Map<Integer, byte[]> keys) {
        if (keys.isEmpty()) {
            throw new InvalidInputException("kek", "at least one KEK version is required");
        }
        NavigableMap<Integer, KekKey> wrap = new TreeMap<>();
        Map<Integer, KekKey> mac = new TreeMap<>();
        for (Map.Entry<Integer, byte[]> e : keys.entrySet()) {
            int version = e.getKey();
            byte[] kek = e.getValue();
            if (version < 1) {
                throw new InvalidInputException("kek", "KEK versions must be 1 or more");
            }
            if (kek == null || kek.length != KEK_BYTES) {
                throw new InvalidInputException("kek", "KEK version " + version + " must be exactly " + KEK_BYTES
                        + " bytes (256 bits)");
            }
            byte[] macKey = Hkdf.derive(null, kek, MAC_INFO, 32);
            try {
                wrap.put(version, new KekKey(kek, "AES"));
                mac.put(version, new KekKey(macKey, "HmacSHA256"));
            } finally {
                Bytes.wipe(macKey);
            }
        }
        return new KekRing(kekId, Collections.unmodifiableNavigableMap(wrap), Collections.unmodifiableMap(mac));
    }

    public String kekId() {
        return kekId;
    }

    public List<Integer> versions() {
        return versions;
    }

    public int currentVersion() {
        return wrapKeys.lastKey();
    }

    public byte[] wrap(int version, byte[] dataKey) {
        if (dataKey == null || dataKey.length != KekProvider.DATA_KEY_BYTES) {
            throw new InvalidInputException("dataKey", "must be " + KekProvider.DATA_KEY_BYTES + " bytes");
        }
        Map<Integer, Cipher> ciphers = wrapCiphers.get();
        try {
            return kw(ciphers, Cipher.ENCRYPT_MODE, version).doFinal(dataKey);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            ciphers.remove(version); // the next wrap starts from a fresh cipher
            throw new UnavailableException("AES key wrap under KEK " + kekId + " v" + version + " failed ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
    }

    public byte[] unwrap(int version, byte[] wrapped) {
        Map<Integer, Cipher> ciphers = unwrapCiphers.get();
        try {
            return kw(ciphers, Cipher.DECRYPT_MODE, version).doFinal(wrapped);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            ciphers.remove(version); // the next unwrap starts from a fresh cipher
            // IllegalBlockSizeException ("Integrity check failed") or a bad length: the wrapped key is not ours.
            throw new IntegrityException(null, "the wrapped key does not unwrap under KEK " + kekId + " v" + version);
        }
    }

    public byte[] mac(int version, byte[] data) {
        try {
            Mac mac = HMAC.get();
            mac.init(key(macKeys, version));
            return mac.doFinal(data);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            throw new UnavailableException("HMAC-SHA256 under KEK " + kekId + " v" + version + " failed ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
    }

    /** Wipes every key this ring holds; it cannot be used afterwards. */
    public void destroy() {
        destroyed = true;
        wrapKeys.values().forEach(KekKey::destroy);
        macKeys.values().forEach(KekKey::destroy);
    }

    /** This thread's KW cipher for the version and direction, initialised on first use. */
    private Cipher kw(Map<Integer, Cipher> ciphers, int mode, int version) throws GeneralSecurityException {
        if (destroyed) {
            throw new IllegalStateException("the KEK was destroyed");
        }
        Cipher kw = ciphers.get(version);
        if (kw == null) {
            KekKey key = key(wrapKeys, version);
            try {
                kw = Cipher.getInstance("AES/KW/NoPadding");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/KW/NoPadding is not available in this JDK", e);
            }
            kw.init(mode, key);
            ciphers.put(version, kw);
        }
        return kw;
    }

    private UnavailableException unloaded(int version, IllegalStateException e) {
        return new UnavailableException("KEK " + kekId + " v" + version + " was unloaded", null, e);
    }

    private KekKey key(Map<Integer, KekKey> keys, int version) {
        KekKey key = keys.get(version);
        if (key == null) {
            throw new UnavailableException("KEK " + kekId + " has no version " + version + " (present: " + versions
                    + "); records under it open again when that version is restored");
        }
        return key;
    }

    @Override
    public String toString() {
        return "KekRing[" + kekId + ", versions " + versions + "]";
    }
}
