package org.openkcm.keystore.kek.common;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;

/**
 * The unsealed KEK versions of a ring, and what {@link KekProvider} does with them, with the same
 * algorithms as the core's local KEK file: AES Key Wrap (RFC 3394, {@code AES/KW/NoPadding}) of the
 * data key, and HMAC-SHA256 under {@code HKDF-SHA256(IKM = KEK, info =
 * "openkcm-keystore/kek/lifecycle-mac/v1")}, so a MAC is a deterministic function of the KEK
 * version (what the core's key check value relies on). Immutable; {@link #destroy()} wipes it.
 */
public final class LocalKekRing {
    public static final int KEK_BYTES = 32;
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

    private final String kekId;
    private final NavigableMap<Integer, WipeableKey> wrapKeys;
    private final Map<Integer, WipeableKey> macKeys;
    private final List<Integer> versions;

    private LocalKekRing(String kekId, NavigableMap<Integer, WipeableKey> wrapKeys, Map<Integer, WipeableKey> macKeys) {
        this.kekId = kekId;
        this.wrapKeys = wrapKeys;
        this.macKeys = macKeys;
        this.versions = List.copyOf(wrapKeys.keySet());
    }

    /** A ring of the given versions; the arrays are copied, the caller wipes its own. */
    public static LocalKekRing of(String kekId, Map<Integer, byte[]> keks) {
        if (keks.isEmpty()) {
            throw new InvalidInputException("kek", "at least one KEK version is required");
        }
        NavigableMap<Integer, WipeableKey> wrap = new TreeMap<>();
        Map<Integer, WipeableKey> mac = new TreeMap<>();
        for (Map.Entry<Integer, byte[]> e : keks.entrySet()) {
            if (e.getKey() < 1 || e.getValue() == null || e.getValue().length != KEK_BYTES) {
                throw new InvalidInputException("kek", "KEK versions are 1 or more and exactly " + KEK_BYTES + " bytes");
            }
            byte[] macKey = hkdf(e.getValue(), MAC_INFO);
            try {
                wrap.put(e.getKey(), new WipeableKey(e.getValue(), "AES"));
                mac.put(e.getKey(), new WipeableKey(macKey, "HmacSHA256"));
            } finally {
                Arrays.fill(macKey, (byte) 0);
            }
        }
        return new LocalKekRing(kekId, Collections.unmodifiableNavigableMap(wrap), Collections.unmodifiableMap(mac));
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

    public byte[] unwrap(int version, byte[] wrapped) {
        try {
            Cipher kw = KW.get();
            kw.init(Cipher.DECRYPT_MODE, key(wrapKeys, version));
            return kw.doFinal(wrapped);
        } catch (IllegalStateException e) {
            throw unloaded(version, e);
        } catch (GeneralSecurityException e) {
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

    /** The key check value of one version: its {@link #mac} of {@link #CHECK_LABEL}. */
    public byte[] checkValue(int version) {
        return mac(version, CHECK_LABEL.getBytes(StandardCharsets.US_ASCII));
    }

    public void destroy() {
        wrapKeys.values().forEach(WipeableKey::destroy);
        macKeys.values().forEach(WipeableKey::destroy);
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
