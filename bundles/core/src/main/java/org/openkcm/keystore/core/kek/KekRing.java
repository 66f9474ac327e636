package org.openkcm.keystore.core.kek;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.Hkdf;
import org.openkcm.keystore.core.crypto.RandomSource;

/**
 * The versions of one locally held KEK, and the operations {@link KekProvider} offers on them:
 * <ul>
 * <li>wrap: by default ({@link Wrap#GCM}) AES-256-GCM (NIST SP 800-38D; SP 800-38F admits GCM for
 * key wrapping) of the 32-byte data key under {@code HKDF-SHA256(salt = none, IKM = KEK, info =
 * "openkcm-keystore/kek/wrap-gcm/v1", L = 32)}, a random 96-bit nonce and a 128-bit tag, with the
 * KEK id and version as additional authenticated data: 61 bytes out, {@code 0x02 || nonce ||
 * ciphertext || tag}. Each thread keeps one cipher per version and initialises it per wrap with the
 * new nonce; the JDK's AES keeps its key schedule when it is initialised again with the same key, so
 * the wrap costs about as much as one GCM operation on 32 bytes, where a KW wrap costs 24 AES block
 * operations through the JDK's generic cipher machinery (wrap and unwrap: about 700 ns against 1,260 ns
 * for KW, EnvelopePartsBenchmark).
 * <b>The nonce bound</b>: with random 96-bit nonces, SP 800-38D section 8.3 limits one key to 2^32
 * encryptions (the chance that two nonces collide then stays below 2^-32); past it, a collision
 * would reveal the XOR of two data keys and let their wrapped forms be forged. The bound is per KEK
 * version, across every process that holds it, and this ring does not count (it keeps no state
 * between runs): rotating the KEK covers it only if each version wraps fewer than 2^32 data keys
 * (a seal or re-wrap wraps one; an open wraps none), e.g. fewer than 1,000 new key versions a second
 * for a rotation period of 49 days, and a ring with many more needs the KW wrap or a shorter period;</li>
 * <li>or ({@link Wrap#KW}, the file and reference providers' {@code wrap = kw}: for a rolling upgrade, until every
 * runtime that shares the backends reads GCM wraps) AES Key Wrap (RFC 3394, NIST SP 800-38F "KW", the JDK's
 * {@code AES/KW/NoPadding}) under the KEK itself, 40 bytes out: deterministic and nonce-free, so a
 * KEK version has no budget to exhaust, and its 64-bit integrity check refuses a wrapped key that
 * was altered or wrapped under another KEK; every ring wrapped so before the GCM wrap;</li>
 * <li>unwrap: either form, whichever the ring writes (told apart by length: 40 bytes is KW, 61
 * bytes starting {@code 0x02} is GCM; anything else is refused), so every record wrapped by KW
 * still opens. A GCM-wrapped key moved to another KEK id or version fails its tag;</li>
 * <li>mac: HMAC-SHA256 under {@code HKDF-SHA256(salt = none, IKM = KEK, info =
 * "openkcm-keystore/kek/lifecycle-mac/v1", L = 32)}, so the KEK itself keys nothing but the KW wrap
 * and each derived key one purpose.</li>
 * </ul>
 * Immutable and thread-safe; {@link #destroy()} wipes the key bytes it holds.
 */
public final class KekRing {
    /** Length of every KEK version in bytes (AES-256). */
    public static final int KEK_BYTES = 32;
    static final byte[] MAC_INFO = "openkcm-keystore/kek/lifecycle-mac/v1".getBytes(StandardCharsets.US_ASCII);
    static final byte[] WRAP_GCM_INFO = "openkcm-keystore/kek/wrap-gcm/v1".getBytes(StandardCharsets.US_ASCII);
    /** Length of a KW-wrapped data key. */
    public static final int KW_WRAPPED_BYTES = KekProvider.DATA_KEY_BYTES + 8;
    /** The first byte of a GCM-wrapped data key. */
    public static final int GCM_WRAP_FORMAT = 0x02;
    static final int GCM_NONCE_BYTES = 12;
    static final int GCM_TAG_BYTES = 16;
    /** Length of a GCM-wrapped data key: format byte, nonce, ciphertext, tag. */
    public static final int GCM_WRAPPED_BYTES = 1 + GCM_NONCE_BYTES + KekProvider.DATA_KEY_BYTES + GCM_TAG_BYTES;

    /** How a ring wraps new data keys; it unwraps both. */
    public enum Wrap {
        /** AES-256-GCM under a key derived from the KEK version, a random nonce, 61 bytes: the default. */
        GCM,
        /** AES Key Wrap (RFC 3394) under the KEK version, deterministic, 40 bytes. */
        KW;

        /**
         * The form a configuration names: {@code gcm} (also when empty) or {@code kw}, in any case.
         *
         * @throws InvalidInputException for anything else
         */
        public static Wrap parse(String text) {
            String t = text == null ? "" : text.trim();
            if (t.isEmpty() || t.equalsIgnoreCase("gcm")) {
                return GCM;
            }
            if (t.equalsIgnoreCase("kw")) {
                return KW;
            }
            throw new InvalidInputException("wrap", "must be 'gcm' or 'kw', not '" + t + "'");
        }
    }

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
    private final Map<Integer, KekKey> gcmKeys;
    /** Per version, the AAD of the GCM wrap: {@code u8 0x02 || u8 n || KEK id || u32 version}. */
    private final Map<Integer, byte[]> gcmAads;
    private final Wrap wrap;
    private final List<Integer> versions;
    /**
     * Per thread, this ring's KW ciphers, one per version and direction, initialised once: a
     * cipher's doFinal leaves it initialised with the same key, and an init (the key schedule and
     * the JCE's checks) cost about as much as the wrap itself. They go with the ring (or the
     * thread); once the ring is destroyed they are never used again.
     */
    private final ThreadLocal<Map<Integer, Cipher>> wrapCiphers = ThreadLocal.withInitial(HashMap::new);
    private final ThreadLocal<Map<Integer, Cipher>> unwrapCiphers = ThreadLocal.withInitial(HashMap::new);
    /** Per thread, this ring's GCM ciphers, one per version for both directions, initialised per call. */
    private final ThreadLocal<Map<Integer, Cipher>> gcmCiphers = ThreadLocal.withInitial(HashMap::new);
    private volatile boolean destroyed;

    private KekRing(String kekId, NavigableMap<Integer, KekKey> wrapKeys, Map<Integer, KekKey> macKeys,
            Map<Integer, KekKey> gcmKeys, Wrap wrap) {
        this.kekId = kekId;
        this.wrapKeys = wrapKeys;
        this.macKeys = macKeys;
        this.gcmKeys = gcmKeys;
        this.wrap = wrap;
        this.versions = List.copyOf(wrapKeys.keySet());
        byte[] id = kekId.getBytes(StandardCharsets.US_ASCII);
        Map<Integer, byte[]> aads = new HashMap<>();
        for (int version : versions) {
            byte[] aad = new byte[1 + 1 + id.length + 4];
            aad[0] = (byte) GCM_WRAP_FORMAT;
            aad[1] = (byte) id.length;
            System.arraycopy(id, 0, aad, 2, id.length);
            for (int i = 0; i < 4; i++) {
                aad[2 + id.length + i] = (byte) (version >>> (24 - 8 * i));
            }
            aads.put(version, aad);
        }
        this.gcmAads = Map.copyOf(aads);
    }

    /**
     * A ring of the given versions that wraps with {@link Wrap#GCM}. The arrays are copied; the caller wipes its own.
     *
     * @throws InvalidInputException if there is no version, a version is below 1 or a key is not 32 bytes
     */
    public static KekRing of(String kekId, Map<Integer, byte[]> keys) {
        return of(kekId, keys, Wrap.GCM);
    }

    /**
     * A ring of the given versions that wraps new data keys as {@code wrap} says (and unwraps both forms).
     *
     * @throws InvalidInputException if there is no version, a version is below 1 or a key is not 32 bytes
     */
    public static KekRing of(String kekId, Map<Integer, byte[]> keys, Wrap wrap) {
        if (keys.isEmpty()) {
            throw new InvalidInputException("kek", "at least one KEK version is required");
        }
        NavigableMap<Integer, KekKey> kw = new TreeMap<>();
        Map<Integer, KekKey> mac = new TreeMap<>();
        Map<Integer, KekKey> gcm = new TreeMap<>();
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
            byte[] gcmKey = Hkdf.derive(null, kek, WRAP_GCM_INFO, 32);
            try {
                kw.put(version, new KekKey(kek, "AES"));
                mac.put(version, new KekKey(macKey, "HmacSHA256"));
                gcm.put(version, new KekKey(gcmKey, "AES"));
            } finally {
                Bytes.wipe(macKey, gcmKey);
            }
        }
        return new KekRing(kekId, Collections.unmodifiableNavigableMap(kw), Collections.unmodifiableMap(mac),
                Collections.unmodifiableMap(gcm), java.util.Objects.requireNonNull(wrap, "wrap"));
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

    /** How this ring wraps new data keys. */
    public Wrap wrapForm() {
        return wrap;
    }

    public byte[] wrap(int version, byte[] dataKey) {
        if (dataKey == null || dataKey.length != KekProvider.DATA_KEY_BYTES) {
            throw new InvalidInputException("dataKey", "must be " + KekProvider.DATA_KEY_BYTES + " bytes");
        }
        return wrap == Wrap.GCM ? gcmWrap(version, dataKey) : kwWrap(version, dataKey);
    }

    /**
     * Unwraps either form: 40 bytes is KW under the KEK, 61 bytes starting {@code 0x02} is GCM under
     * the derived key; anything else does not unwrap.
     */
    public byte[] unwrap(int version, byte[] wrapped) {
        if (wrapped != null && wrapped.length == GCM_WRAPPED_BYTES && (wrapped[0] & 0xFF) == GCM_WRAP_FORMAT) {
            return gcmUnwrap(version, wrapped);
        }
        if (wrapped == null || wrapped.length != KW_WRAPPED_BYTES) {
            throw new IntegrityException(null, "the wrapped key under KEK " + kekId + " v" + version
                    + " is neither a KW nor a GCM wrap (wrong length or format byte)");
        }
        return kwUnwrap(version, wrapped);
    }

    private byte[] gcmWrap(int version, byte[] dataKey) {
        byte[] out = new byte[GCM_WRAPPED_BYTES];
        out[0] = (byte) GCM_WRAP_FORMAT;
        RandomSource.secure().nextBytes(out, 1, GCM_NONCE_BYTES);
        Map<Integer, Cipher> ciphers = gcmCiphers.get();
        try {
            Cipher gcm = gcm(ciphers, version);
            gcm.init(Cipher.ENCRYPT_MODE, key(gcmKeys, version), new GCMParameterSpec(GCM_TAG_BYTES * 8, out, 1,
                    GCM_NONCE_BYTES));
            gcm.updateAAD(gcmAads.get(version));
            gcm.doFinal(dataKey, 0, dataKey.length, out, 1 + GCM_NONCE_BYTES);
            return out;
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            ciphers.remove(version);
            throw new UnavailableException("AES-GCM key wrap under KEK " + kekId + " v" + version + " failed ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
    }

    private byte[] gcmUnwrap(int version, byte[] wrapped) {
        Map<Integer, Cipher> ciphers = gcmCiphers.get();
        try {
            Cipher gcm = gcm(ciphers, version);
            gcm.init(Cipher.DECRYPT_MODE, key(gcmKeys, version), new GCMParameterSpec(GCM_TAG_BYTES * 8, wrapped, 1,
                    GCM_NONCE_BYTES));
            gcm.updateAAD(gcmAads.get(version));
            return gcm.doFinal(wrapped, 1 + GCM_NONCE_BYTES, wrapped.length - 1 - GCM_NONCE_BYTES);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (AEADBadTagException e) {
            throw new IntegrityException(null, "the GCM-wrapped key does not unwrap under KEK " + kekId + " v"
                    + version + ": it was altered or wrapped under another KEK or version");
        } catch (GeneralSecurityException e) {
            ciphers.remove(version);
            throw new UnavailableException("AES-GCM key unwrap under KEK " + kekId + " v" + version + " failed ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
    }

    private byte[] kwWrap(int version, byte[] dataKey) {
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

    private byte[] kwUnwrap(int version, byte[] wrapped) {
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
        gcmKeys.values().forEach(KekKey::destroy);
    }

    /** This thread's GCM cipher for the version (initialised by the caller, per call). */
    private Cipher gcm(Map<Integer, Cipher> ciphers, int version) {
        if (destroyed) {
            throw new IllegalStateException("the KEK was destroyed");
        }
        Cipher gcm = ciphers.get(version);
        if (gcm == null) {
            key(gcmKeys, version); // an absent version is unavailable, before any cipher is made
            try {
                gcm = Cipher.getInstance("AES/GCM/NoPadding");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/GCM/NoPadding is not available in this JDK", e);
            }
            ciphers.put(version, gcm);
        }
        return gcm;
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
