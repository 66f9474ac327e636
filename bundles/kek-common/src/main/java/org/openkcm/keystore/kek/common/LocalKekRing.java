package org.openkcm.keystore.kek.common;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;

/**
 * The unsealed KEK versions of a ring, and what {@link KekProvider} does with them, with the same
 * algorithms as the core's local KEK ring ({@code KekRing}, whose javadoc gives the reasoning and the
 * nonce bound): new data keys are wrapped with AES-256-GCM under {@code HKDF-SHA256(IKM = KEK, info =
 * "openkcm-keystore/kek/wrap-gcm/v1")}, a random 96-bit nonce and the AAD {@code u8 0x02 || u8 n ||
 * KEK id || u32 version}, 61 bytes out ({@code 0x02 || nonce || ciphertext || tag}; at most 2^32
 * wraps per KEK version, which rotation must cover), or with {@link Wrap#KW} as before; what earlier rings wrapped with AES Key Wrap
 * (RFC 3394, {@code AES/KW/NoPadding}, 40 bytes) still unwraps; and HMAC-SHA256 under {@code HKDF-SHA256(IKM = KEK, info =
 * "openkcm-keystore/kek/lifecycle-mac/v1")}, so a MAC is a deterministic function of the KEK
 * version (what the core's key check value relies on). Immutable; {@link #destroy()} wipes it.
 */
public final class LocalKekRing {
    public static final int KEK_BYTES = 32;

    /** How a ring wraps new data keys (the providers' {@code wrap} setting); it unwraps both. */
    public enum Wrap {
        /** AES-256-GCM under the derived key, a random nonce, 61 bytes: the default. */
        GCM,
        /**
         * AES Key Wrap (RFC 3394) under the KEK version, 40 bytes, as rings wrote before the GCM wrap:
         * for a rolling upgrade, until every runtime that shares the backends reads GCM wraps.
         */
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

    private static final byte[] MAC_INFO = "openkcm-keystore/kek/lifecycle-mac/v1".getBytes(StandardCharsets.US_ASCII);
    /**
     * The label whose MAC under a KEK version is that version's key check value: the same label
     * the core's known-KEK record uses, so the value kept with the ring is the value it records.
     */
    public static final String CHECK_LABEL = "openkcm-keystore/kek/check-value/v1";
    private static final ThreadLocal<Cipher> KW = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/KW/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/KW/NoPadding is not available in this JDK", e);
        }
    });
    private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(LocalKekRing::hmac);
    private static final byte[] WRAP_GCM_INFO = "openkcm-keystore/kek/wrap-gcm/v1".getBytes(StandardCharsets.US_ASCII);
    /** The first byte of a GCM-wrapped data key. */
    public static final int GCM_WRAP_FORMAT = 0x02;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BYTES = 16;
    /** Length of a GCM-wrapped data key: format byte, nonce, ciphertext, tag. */
    public static final int GCM_WRAPPED_BYTES = 1 + NONCE_BYTES + KekProvider.DATA_KEY_BYTES + TAG_BYTES;
    /** Length of a KW-wrapped data key (what earlier rings wrote). */
    public static final int KW_WRAPPED_BYTES = KekProvider.DATA_KEY_BYTES + 8;
    private static final ThreadLocal<Cipher> GCM = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM/NoPadding is not available in this JDK", e);
        }
    });
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String kekId;
    private final NavigableMap<Integer, WipeableKey> wrapKeys;
    private final Map<Integer, WipeableKey> macKeys;
    private final Map<Integer, WipeableKey> gcmKeys;
    private final List<Integer> versions;
    private final byte[] kekIdBytes;
    private final Wrap wrap;

    private LocalKekRing(String kekId, NavigableMap<Integer, WipeableKey> wrapKeys, Map<Integer, WipeableKey> macKeys,
            Map<Integer, WipeableKey> gcmKeys, Wrap wrap) {
        this.kekId = kekId;
        this.wrap = wrap;
        this.wrapKeys = wrapKeys;
        this.macKeys = macKeys;
        this.gcmKeys = gcmKeys;
        this.versions = List.copyOf(wrapKeys.keySet());
        this.kekIdBytes = kekId.getBytes(StandardCharsets.US_ASCII);
    }

    /** A ring of the given versions that wraps with {@link Wrap#GCM}; the arrays are copied, the caller wipes its own. */
    public static LocalKekRing of(String kekId, Map<Integer, byte[]> keks) {
        return of(kekId, keks, Wrap.GCM);
    }

    /** A ring of the given versions that wraps new data keys as {@code wrap} says (and unwraps both forms). */
    public static LocalKekRing of(String kekId, Map<Integer, byte[]> keks, Wrap form) {
        java.util.Objects.requireNonNull(form, "wrap");
        if (keks.isEmpty()) {
            throw new InvalidInputException("kek", "at least one KEK version is required");
        }
        NavigableMap<Integer, WipeableKey> wrap = new TreeMap<>();
        Map<Integer, WipeableKey> mac = new TreeMap<>();
        Map<Integer, WipeableKey> gcm = new TreeMap<>();
        for (Map.Entry<Integer, byte[]> e : keks.entrySet()) {
            if (e.getKey() < 1 || e.getValue() == null || e.getValue().length != KEK_BYTES) {
                throw new InvalidInputException("kek", "KEK versions are 1 or more and exactly " + KEK_BYTES + " bytes");
            }
            byte[] macKey = hkdf(e.getValue(), MAC_INFO);
            byte[] gcmKey = hkdf(e.getValue(), WRAP_GCM_INFO);
            try {
                wrap.put(e.getKey(), new WipeableKey(e.getValue(), "AES"));
                mac.put(e.getKey(), new WipeableKey(macKey, "HmacSHA256"));
                gcm.put(e.getKey(), new WipeableKey(gcmKey, "AES"));
            } finally {
                Arrays.fill(macKey, (byte) 0);
                Arrays.fill(gcmKey, (byte) 0);
            }
        }
        return new LocalKekRing(kekId, Collections.unmodifiableNavigableMap(wrap), Collections.unmodifiableMap(mac),
                Collections.unmodifiableMap(gcm), form);
    }

    /** How this ring wraps new data keys. */
    public Wrap wrapForm() {
        return wrap;
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

    /**
     * By default AES-256-GCM of the data key under the version's derived key, a fresh nonce: 61 bytes;
     * with {@link Wrap#KW}, AES Key Wrap under the KEK version: 40 bytes.
     */
    public byte[] wrap(int version, byte[] dataKey) {
        if (dataKey == null || dataKey.length != KekProvider.DATA_KEY_BYTES) {
            throw new InvalidInputException("dataKey", "must be " + KekProvider.DATA_KEY_BYTES + " bytes");
        }
        if (wrap == Wrap.KW) {
            return kwWrap(version, dataKey);
        }
        byte[] out = new byte[GCM_WRAPPED_BYTES];
        out[0] = (byte) GCM_WRAP_FORMAT;
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        System.arraycopy(nonce, 0, out, 1, NONCE_BYTES);
        try {
            Cipher gcm = GCM.get();
            gcm.init(Cipher.ENCRYPT_MODE, key(gcmKeys, version), new GCMParameterSpec(TAG_BYTES * 8, nonce));
            gcm.updateAAD(aad(version));
            gcm.doFinal(dataKey, 0, dataKey.length, out, 1 + NONCE_BYTES);
            return out;
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            throw new UnavailableException("AES-GCM key wrap under KEK " + kekId + " v" + version + " failed ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
    }

    private byte[] kwWrap(int version, byte[] dataKey) {
        try {
            Cipher kw = KW.get();
            kw.init(Cipher.ENCRYPT_MODE, key(wrapKeys, version));
            return kw.doFinal(dataKey);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            throw new UnavailableException("AES key wrap under KEK " + kekId + " v" + version + " failed ("
                    + e.getClass().getSimpleName() + ")", null, e);
        }
    }

    /** Either form: 61 bytes starting {@code 0x02} is the GCM wrap, 40 bytes is AES-KW (earlier rings). */
    public byte[] unwrap(int version, byte[] wrapped) {
        boolean gcmForm = wrapped != null && wrapped.length == GCM_WRAPPED_BYTES
                && (wrapped[0] & 0xFF) == GCM_WRAP_FORMAT;
        if (!gcmForm && (wrapped == null || wrapped.length != KW_WRAPPED_BYTES)) {
            throw new IntegrityException(null, "the wrapped key under KEK " + kekId + " v" + version
                    + " is neither a KW nor a GCM wrap (wrong length or format byte)");
        }
        try {
            if (gcmForm) {
                Cipher gcm = GCM.get();
                gcm.init(Cipher.DECRYPT_MODE, key(gcmKeys, version),
                        new GCMParameterSpec(TAG_BYTES * 8, wrapped, 1, NONCE_BYTES));
                gcm.updateAAD(aad(version));
                return gcm.doFinal(wrapped, 1 + NONCE_BYTES, wrapped.length - 1 - NONCE_BYTES);
            }
            Cipher kw = KW.get();
            kw.init(Cipher.DECRYPT_MODE, key(wrapKeys, version));
            return kw.doFinal(wrapped);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
            throw new IntegrityException(null, "the wrapped key does not unwrap under KEK " + kekId + " v" + version);
        }
    }

    /** The GCM wrap's AAD: {@code u8 0x02 || u8 n || KEK id || u32 version}. */
    private byte[] aad(int version) {
        int n = kekIdBytes.length;
        byte[] aad = new byte[n + 6];
        aad[0] = (byte) GCM_WRAP_FORMAT;
        aad[1] = (byte) n;
        System.arraycopy(kekIdBytes, 0, aad, 2, n);
        for (int i = 0; i < 4; i++) {
            aad[2 + n + i] = (byte) (version >>> (24 - 8 * i));
        }
        return aad;
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

    /** The key check value of one version: its {@link #mac} of {@link #CHECK_LABEL}. */
    public byte[] checkValue(int version) {
        return mac(version, CHECK_LABEL.getBytes(StandardCharsets.US_ASCII));
    }

    public void destroy() {
        wrapKeys.values().forEach(WipeableKey::destroy);
        macKeys.values().forEach(WipeableKey::destroy);
        gcmKeys.values().forEach(WipeableKey::destroy);
    }

    private WipeableKey key(Map<Integer, WipeableKey> keys, int version) {
        WipeableKey key = keys.get(version);
        if (key == null) {
            throw new UnavailableException("KEK " + kekId + " has no version " + version + " (present: " + versions + ")");
        }
        return key;
    }

    private UnavailableException unloaded(int version, IllegalStateException e) {
        return new UnavailableException("KEK " + kekId + " v" + version + " was unloaded", null, e);
    }

    @Override
    public String toString() {
        return "LocalKekRing[" + kekId + ", versions " + versions + "]";
    }

    /** HKDF-SHA256 (RFC 5869) with the default salt, 32 bytes out: one expand block. */
    private static byte[] hkdf(byte[] ikm, byte[] info) {
        byte[] prk = null;
        try {
            Mac mac = hmac();
            mac.init(new SecretKeySpec(new byte[32], "HmacSHA256"));
            prk = mac.doFinal(ikm);
            mac.init(new SecretKeySpec(prk, "HmacSHA256"));
            mac.update(info);
            mac.update((byte) 1);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        } finally {
            if (prk != null) {
                Arrays.fill(prk, (byte) 0);
            }
        }
    }

    private static Mac hmac() {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    }

    /** A secret key whose bytes can be wiped, unlike {@code SecretKeySpec} on Java 17. */
    private static final class WipeableKey implements SecretKey {
        private static final long serialVersionUID = 1L;
        private final String algorithm;
        private final byte[] bytes;
        private volatile boolean destroyed;

        WipeableKey(byte[] bytes, String algorithm) {
            this.bytes = bytes.clone();
            this.algorithm = algorithm;
        }

        @Override
        public String getAlgorithm() {
            return algorithm;
        }

        @Override
        public String getFormat() {
            return "RAW";
        }

        @Override
        public byte[] getEncoded() {
            if (destroyed) {
                throw new IllegalStateException("the KEK was destroyed");
            }
            return bytes.clone();
        }

        @Override
        public void destroy() {
            destroyed = true;
            Arrays.fill(bytes, (byte) 0);
        }

        @Override
        public boolean isDestroyed() {
            return destroyed;
        }

        @Override
        public String toString() {
            return "WipeableKey[" + algorithm + "]";
        }

        private Object writeReplace() throws java.io.ObjectStreamException {
            throw new java.io.NotSerializableException("KEKs are never serialized");
        }
    }
}
