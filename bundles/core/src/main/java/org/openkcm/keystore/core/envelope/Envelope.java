package org.openkcm.keystore.core.envelope;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.SealedKey;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.crypto.Bytes;
import org.openkcm.keystore.core.crypto.RandomSource;

/**
 * Envelope encryption of key material, and the lifecycle MAC of its metadata. The layout of both
 * is in RECORD-FORMAT.md beside this bundle's pom; in short:
 * <ul>
 * <li>the material is sealed with AES-256-GCM (JDK JCE) under a fresh 256-bit data key and a
 * random 96-bit nonce, with the bound metadata (id, type, owner, algorithm, key size, parent,
 * region, created time) as additional authenticated data;</li>
 * <li>the data key is wrapped by a {@link KekProvider}, and the record names the KEK id and version,
 * so a record re-wraps under another KEK without its material ciphertext changing;</li>
 * <li>the lifecycle fields (status, expiry, tags, updated time, revision) and the bound metadata are
 * authenticated by an HMAC-SHA256 under a key the provider derives from its KEK, stored base64url
 * in {@link KeyMetadata#lifecycleMac()}.</li>
 * </ul>
 * Anything that fails to authenticate is an {@link IntegrityException}; no wrong material is ever
 * returned. Instances are immutable and thread-safe.
 */
public final class Envelope {
    /** The first byte of every record this code writes. */
    public static final int FORMAT_V1 = 1;
    /** The first byte of every lifecycle MAC token this code writes. */
    public static final int MAC_FORMAT_V1 = 1;

    static final int DATA_KEY_BYTES = 32;
    static final int NONCE_BYTES = 12;
    static final int TAG_BYTES = 16;
    private static final ThreadLocal<Cipher> GCM = ThreadLocal.withInitial(Envelope::newGcm);
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64_DECODER = Base64.getUrlDecoder();

    private final KekDirectory keks;
    private final RandomSource random;

    /** An envelope that seals with {@code keks.sealing()}'s current version and fresh secure randomness. */
    public Envelope(KekDirectory keks) {
        this(keks, RandomSource.secure());
    }

    /**
     * The test seam: {@code random} is asked for 44 bytes per seal: the 32-byte data key, then the
     * 12-byte nonce. Only the record-format test vectors pass anything but {@link RandomSource#secure()}.
     */
    public Envelope(KekDirectory keks, RandomSource random) {
        this.keks = keks;
        this.random = random;
    }

    public KekDirectory keks() {
        return keks;
    }

    /**
     * Seals material for the key the metadata describes (only its bound fields are used).
     *
     * @param material the plaintext; not modified, still owned (and wiped) by the caller
     */
    public SealedKey seal(KeyMetadata metadata, byte[] material) {
        if (material == null || material.length == 0) {
            throw new InvalidInputException("material", "is required and must not be empty", metadata.id());
        }
        KekProvider kek = keks.sealing();
        int kekVersion = kek.currentVersion();
        // One draw for both, data key then nonce: one call (and, for the test seam, one fixed order).
        byte[] fresh = new byte[DATA_KEY_BYTES + NONCE_BYTES];
        byte[] dataKey = null;
        try {
            random.nextBytes(fresh);
            dataKey = Arrays.copyOf(fresh, DATA_KEY_BYTES);
            String kekId = kek.kekId();
            byte[] wrapped = kek.wrap(kekVersion, dataKey);
            // the header written in place, then the nonce straight from the draw: no intermediate arrays
            int headerLength = headerLength(kekId, wrapped);
            byte[] record = new byte[headerLength + NONCE_BYTES + material.length + TAG_BYTES];
            writeHeader(record, kekId, kekVersion, wrapped);
            System.arraycopy(fresh, DATA_KEY_BYTES, record, headerLength, NONCE_BYTES);
            Cipher gcm = GCM.get();
            gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(fresh, 0, DATA_KEY_BYTES, "AES"),
                    new GCMParameterSpec(TAG_BYTES * 8, fresh, DATA_KEY_BYTES, NONCE_BYTES));
            Canonical aad = BoundMetadata.materialAad(FORMAT_V1, metadata);
            gcm.updateAAD(aad.array(), 0, aad.length());
            gcm.doFinal(material, 0, material.length, record, headerLength + NONCE_BYTES);
            return SealedKey.of(record);
        } catch (GeneralSecurityException e) {
            throw new UnavailableException("the JDK's AES-GCM failed to seal (" + e.getClass().getSimpleName() + ")",
                    metadata.id(), e);
        } finally {
            Bytes.wipe(fresh, dataKey);
        }
    }

    /**
     * Opens a record sealed for this metadata. Checks the record only: call
     * {@link #verifyLifecycle} first to check the metadata.
     *
     * @return the material, which the caller owns and must wipe
     * @throws IntegrityException if the record is malformed, altered, sealed for other metadata, or
     *         names a KEK id or version that no provider present holds (altered, or removed too early)
     */
    public byte[] open(SealedKey sealed, KeyMetadata metadata) {
        KeyId id = metadata.id();
        byte[] record = sealed.bytes();
        Parsed parsed = parse(record, id);
        byte[] dataKey = unwrap(parsed, id);
        try {
            return decrypt(record, parsed, dataKey, metadata);
        } finally {
            Bytes.wipe(dataKey);
        }
    }

    /**
     * The same material under the sealing KEK's current version: the data key is unwrapped and
     * wrapped again; the nonce and the material ciphertext are copied unchanged. The record is
     * opened first (and the plaintext wiped), so a record that does not open is never re-wrapped.
     *
     * @throws IntegrityException if the record does not open for this metadata
     */
    public SealedKey rewrap(SealedKey sealed, KeyMetadata metadata) {
        KeyId id = metadata.id();
        byte[] record = sealed.bytes();
        Parsed parsed = parse(record, id);
        KekProvider target = keks.sealing();
        int targetVersion = target.currentVersion();
        byte[] dataKey = unwrap(parsed, id);
        try {
            Bytes.wipe(decrypt(record, parsed, dataKey, metadata));
            byte[] header = header(target.kekId(), targetVersion, target.wrap(targetVersion, dataKey));
            int tail = record.length - parsed.nonceOffset;
            byte[] out = new byte[header.length + tail];
            System.arraycopy(header, 0, out, 0, header.length);
            System.arraycopy(record, parsed.nonceOffset, out, header.length, tail);
            return SealedKey.of(out);
        } finally {
            Bytes.wipe(dataKey);
        }
    }

    /** The metadata with a lifecycle MAC computed under the sealing KEK's current version. */
    public KeyMetadata withLifecycleMac(KeyMetadata metadata) {
        KekProvider kek = keks.sealing();
        int version = kek.currentVersion();
        byte[] header = macHeader(kek.kekId(), version);
        byte[] tag = kek.mac(version, BoundMetadata.lifecycleInput(header, metadata));
        byte[] token = new byte[header.length + tag.length];
        System.arraycopy(header, 0, token, 0, header.length);
        System.arraycopy(tag, 0, token, header.length, tag.length);
        return metadata.toBuilder().lifecycleMac(B64.encodeToString(token)).build();
    }

    /**
     * Checks the lifecycle MAC of the metadata.
     *
     * @throws IntegrityException if it is missing, malformed, or does not match every field it covers
     * (see {@link #open} for a KEK that is not present)
     */
    public void verifyLifecycle(KeyMetadata metadata) {
        KeyId id = metadata.id();
        byte[] token = macToken(metadata).orElseThrow(() -> new IntegrityException(id,
                "the lifecycle MAC is missing: the metadata was not written by the keystore core or was stripped"));
        MacParsed parsed = parseMac(token, id);
        KekProvider kek = holder(parsed.ref, id, "lifecycle MAC");
        byte[] expected = kek.mac(parsed.ref.version(),
                BoundMetadata.lifecycleInput(token, 0, parsed.headerLength, metadata));
        if (!tagMatches(expected, token, parsed.headerLength)) {
            throw new IntegrityException(id, "the lifecycle MAC does not match: status, expiry, tags, revision, "
                    + "updated time or bound metadata were altered, or the metadata belongs to another key");
        }
    }

    /**
     * The KEK a record is wrapped under, read from its header (no cryptography).
     *
     * @throws IntegrityException if the header is malformed
     */
    public static KekRef recordKek(SealedKey sealed, KeyId id) {
        return parse(sealed.bytes(), id).ref;
    }

    /** The KEK a lifecycle MAC is keyed by, read from its header, if the metadata has a well-formed MAC. */
    public static Optional<KekRef> macKek(KeyMetadata metadata) {
        try {
            return macToken(metadata).map(token -> parseMac(token, metadata.id()).ref);
        } catch (IntegrityException e) {
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------- encoding

    static byte[] header(String kekId, int kekVersion, byte[] wrapped) {
        byte[] header = new byte[headerLength(kekId, wrapped)];
        writeHeader(header, kekId, kekVersion, wrapped);
        return header;
    }

    /**
     * The length of the record header for this KEK id and wrapped key, once both are checked.
     *
     * @throws InvalidInputException if the KEK id is not an identifier
     * @throws UnavailableException if the wrapped key is empty or longer than 255 bytes
     */
    static int headerLength(String kekId, byte[] wrapped) {
        if (!isKekId(kekId)) {
            throw new InvalidInputException("kek.id", "must be an identifier of 1 to " + KekProvider.MAX_KEK_ID_LENGTH
                    + " characters (letters, digits, '.', '_', '-')");
        }
        if (wrapped == null || wrapped.length < 1 || wrapped.length > 255) {
            throw new UnavailableException("KEK provider '" + kekId + "' returned a wrapped key of unusable length");
        }
        return 8 + kekId.length() + wrapped.length;
    }

    /**
     * Writes {@code u8 0x01 || u8 n || KEK id || u32 version || u16 w || wrapped} at the start of
     * {@code out}, which {@link #headerLength} sized (the id is ASCII, checked there).
     */
    private static void writeHeader(byte[] out, String kekId, int kekVersion, byte[] wrapped) {
        int n = kekId.length();
        out[0] = (byte) FORMAT_V1;
        out[1] = (byte) n;
        for (int i = 0; i < n; i++) {
            out[2 + i] = (byte) kekId.charAt(i);
        }
        int at = 2 + n;
        out[at] = (byte) (kekVersion >>> 24);
        out[at + 1] = (byte) (kekVersion >>> 16);
        out[at + 2] = (byte) (kekVersion >>> 8);
        out[at + 3] = (byte) kekVersion;
        out[at + 4] = (byte) (wrapped.length >>> 8);
        out[at + 5] = (byte) wrapped.length;
        System.arraycopy(wrapped, 0, out, at + 6, wrapped.length);
    }

    /** {@code [A-Za-z0-9][A-Za-z0-9._-]{0,63}}, checked by hand: this runs on every seal and open. */
    static boolean isKekId(String s) {
        int n = s.length();
        if (n < 1 || n > KekProvider.MAX_KEK_ID_LENGTH) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            boolean alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
                return false;
            }
        }
        return true;
    }

    static byte[] macHeader(String kekId, int kekVersion) {
        byte[] id = kekId.getBytes(StandardCharsets.US_ASCII);
        return new Canonical(6 + id.length).u8(MAC_FORMAT_V1).u8(id.length).raw(id).u32(kekVersion).toBytes();
    }

    /**
     * Whether the token's bytes from {@code offset} on are exactly {@code expected}, in time that
     * depends on the lengths only (as {@link MessageDigest#isEqual}, without copying the tag out).
     */
    static boolean tagMatches(byte[] expected, byte[] token, int offset) {
        if (expected == null || token.length - offset != expected.length) {
            return false;
        }
        int diff = 0;
        for (int i = 0; i < expected.length; i++) {
            diff |= expected[i] ^ token[offset + i];
        }
        return diff == 0;
    }

    private static byte[] decrypt(byte[] record, Parsed parsed, byte[] dataKey, KeyMetadata metadata) {
        KeyId id = metadata.id();
        try {
            Cipher gcm = GCM.get();
            gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(dataKey, "AES"),
                    new GCMParameterSpec(TAG_BYTES * 8, record, parsed.nonceOffset, NONCE_BYTES));
            Canonical aad = BoundMetadata.materialAad(parsed.format, metadata);
            gcm.updateAAD(aad.array(), 0, aad.length());
            return gcm.doFinal(record, parsed.ciphertextOffset, record.length - parsed.ciphertextOffset);
        } catch (AEADBadTagException e) {
            throw new IntegrityException(id, "the sealed record does not open: its material or nonce was altered, "
                    + "its bound metadata differs, or it belongs to another key or version");
        } catch (GeneralSecurityException e) {
            throw new UnavailableException("the JDK's AES-GCM failed to open (" + e.getClass().getSimpleName() + ")",
                    id, e);
        }
    }

    /**
     * The provider that holds the KEK a record or MAC names. A KEK id or version that no provider
     * present holds is an integrity failure: either the name was altered, or the KEK was removed
     * while records still needed it; in neither case can the record be trusted to open.
     */
    private KekProvider holder(KekRef ref, KeyId id, String what) {
        KekProvider kek = keks.lookup(ref.kekId());
        if (kek == null || !kek.versions().contains(ref.version())) {
            String refusal = keks.refusal(ref.kekId());
            if (refusal != null) {
                // present but refused (identity not confirmed, or not on the allow-list): a configuration matter
                throw new UnavailableException("the " + what + " names KEK " + ref + ": " + refusal, id, null);
            }
            throw new IntegrityException(id, "the " + what + " names KEK " + ref + ", which no KEK provider present holds"
                    + " (present: " + keks.kekIds() + "): the " + what + " was altered, or that KEK was removed"
                    + " before its records were re-wrapped");
        }
        return kek;
    }

    private byte[] unwrap(Parsed parsed, KeyId id) {
        KekProvider kek = holder(parsed.ref, id, "sealed record");
        byte[] dataKey;
        try {
            dataKey = kek.unwrap(parsed.ref.version(), parsed.wrapped);
        } catch (IntegrityException e) {
            throw new IntegrityException(id, "the wrapped data key does not unwrap under KEK " + parsed.ref
                    + ": it was altered or the record names the wrong KEK", e);
        }
        if (dataKey == null || dataKey.length != DATA_KEY_BYTES) {
            Bytes.wipe(dataKey);
            throw new IntegrityException(id, "the wrapped data key under KEK " + parsed.ref + " has the wrong length");
        }
        return dataKey;
    }

    private static Optional<byte[]> macToken(KeyMetadata metadata) {
        return metadata.lifecycleMac().map(text -> {
            try {
                return B64_DECODER.decode(text);
            } catch (IllegalArgumentException e) {
                throw new IntegrityException(metadata.id(), "the lifecycle MAC is not base64url");
            }
        });
    }

    private static MacParsed parseMac(byte[] token, KeyId id) {
        if (token.length < 1 || (token[0] & 0xFF) != MAC_FORMAT_V1) {
            throw new IntegrityException(id, "the lifecycle MAC has an unknown format");
        }
        Reader in = new Reader(token, id, "lifecycle MAC");
        in.u8();
        KekRef ref = new KekRef(in.kekId(), in.kekVersion());
        int headerLength = in.position();
        if (token.length - headerLength != KekProvider.MAC_BYTES) {
            throw new IntegrityException(id, "the lifecycle MAC has the wrong length");
        }
        return new MacParsed(ref, headerLength);
    }

    private static Parsed parse(byte[] record, KeyId id) {
        Reader in = new Reader(record, id, "sealed record");
        int format = in.u8();
        if (format != FORMAT_V1) {
            throw new IntegrityException(id, "the sealed record has an unknown format version " + format);
        }
        KekRef ref = new KekRef(in.kekId(), in.kekVersion());
        byte[] wrapped = in.bytes(in.u16());
        int nonceOffset = in.position();
        in.skip(NONCE_BYTES);
        if (record.length - in.position() < TAG_BYTES + 1) {
            throw new IntegrityException(id, "the sealed record is truncated");
        }
        return new Parsed(format, ref, wrapped, nonceOffset, in.position());
    }

    private static Cipher newGcm() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM/NoPadding is not available in this JDK", e);
        }
    }

    private record Parsed(int format, KekRef ref, byte[] wrapped, int nonceOffset, int ciphertextOffset) {
    }

    private record MacParsed(KekRef ref, int headerLength) {
    }

    /** Reads a record or MAC token; anything out of bounds is an integrity failure, never an index error. */
    private static final class Reader {
        private final byte[] bytes;
        private final KeyId id;
        private final String what;
        private int pos;

        Reader(byte[] bytes, KeyId id, String what) {
            this.bytes = bytes;
            this.id = id;
            this.what = what;
        }

        int position() {
            return pos;
        }

        int u8() {
            need(1);
            return bytes[pos++] & 0xFF;
        }

        int u16() {
            return (u8() << 8) | u8();
        }

        long u32() {
            return ((long) u16() << 16) | u16();
        }

        byte[] bytes(int n) {
            need(n);
            byte[] out = new byte[n];
            System.arraycopy(bytes, pos, out, 0, n);
            pos += n;
            return out;
        }

        void skip(int n) {
            need(n);
            pos += n;
        }

        String kekId() {
            int n = u8();
            need(n);
            String kekId = new String(bytes, pos, n, StandardCharsets.US_ASCII); // in place, no copy of the id
            pos += n;
            if (!isKekId(kekId)) {
                throw new IntegrityException(id, "the " + what + " names a malformed KEK id");
            }
            return kekId;
        }

        int kekVersion() {
            long version = u32();
            if (version < 1 || version > Integer.MAX_VALUE) {
                throw new IntegrityException(id, "the " + what + " names an impossible KEK version");
            }
            return (int) version;
        }

        private void need(int n) {
            if (n < 0 || bytes.length - pos < n) {
                throw new IntegrityException(id, "the " + what + " is truncated or malformed");
            }
        }
    }
}
