package org.openkcm.keystore.core.kek;

import java.io.ByteArrayOutputStream;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.core.crypto.Bytes;

/**
 * The text form of a KEK ring, shared by the key file and the environment variable or file
 * reference. Entries are separated by line breaks, spaces, commas or semicolons; a '#' starts a
 * comment to the end of the line. Each entry is {@code <version>:<key>}, the key 32 bytes in base64
 * or base64url, padded or not. A ring of a single entry may omit {@code <version>:} (version 1), so
 * that {@code OPENKCM_KEK=$(openssl rand -base64 32)} is a valid ring.
 * <p>
 * Parsing works on bytes, never on a {@code String} of the text, and every error names the source,
 * the entry and the rule, never the key.
 */
public final class KekRingText {
    private static final byte[] HEADER = ("# OpenKCM keystore KEK ring: one <version>:<base64url of 32 bytes> per line.\n"
            + "# The highest version seals; every version opens. Keep this file owner-only (chmod 600).\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private KekRingText() {
    }

    /**
     * @param text the ring text; not modified (the caller wipes it)
     * @param source where the text came from, for error messages, e.g. "file /etc/openkcm/kek"
     * @return version to key bytes; the caller wipes the arrays
     * @throws InvalidInputException if the text is empty or an entry is malformed
     */
    public static Map<Integer, byte[]> parse(byte[] text, String source) {
        String field = "KEK ring in " + source;
        Map<Integer, byte[]> keys = new TreeMap<>();
        boolean ok = false;
        try {
            int entries = 0;
            boolean unversioned = false;
            int i = 0;
            while (i < text.length) {
                byte b = text[i];
                if (b == '#') {
                    while (i < text.length && text[i] != '\n') {
                        i++;
                    }
                    continue;
                }
                if (isSeparator(b)) {
                    i++;
                    continue;
                }
                int start = i;
                while (i < text.length && !isSeparator(text[i]) && text[i] != '#') {
                    i++;
                }
                entries++;
                int colon = indexOf(text, (byte) ':', start, i);
                int version;
                int keyStart;
                if (colon < 0) {
                    unversioned = true;
                    version = 1;
                    keyStart = start;
                } else {
                    version = parseVersion(text, start, colon, field, entries);
                    keyStart = colon + 1;
                }
                if (unversioned && entries > 1) {
                    throw new InvalidInputException(field, "entry " + entries
                            + ": when a ring has more than one entry, each must be written <version>:<key>");
                }
                byte[] key = decode(text, keyStart, i, field, entries);
                if (keys.putIfAbsent(version, key) != null) {
                    Bytes.wipe(key);
                    throw new InvalidInputException(field, "entry " + entries + ": version " + version
                            + " appears more than once");
                }
            }
            if (keys.isEmpty()) {
                throw new InvalidInputException(field, "holds no KEK; expected <version>:<base64 of 32 bytes>");
            }
            ok = true;
            return keys;
        } finally {
            if (!ok) {
                keys.values().forEach(Bytes::wipe);
            }
        }
    }

    /** The text of a ring, versions ascending, keys base64url without padding; the caller wipes it. */
    public static byte[] format(Map<Integer, byte[]> keys) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(HEADER.length + keys.size() * 56);
        out.writeBytes(HEADER);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        for (Map.Entry<Integer, byte[]> e : new TreeMap<>(keys).entrySet()) {
            out.writeBytes(Integer.toString(e.getKey()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(':');
            byte[] encoded = b64.encode(e.getValue());
            out.writeBytes(encoded);
            Bytes.wipe(encoded);
            out.write('\n');
        }
        // ByteArrayOutputStream's internal buffer cannot be wiped; it holds the same bytes briefly.
        return out.toByteArray();
    }

    private static boolean isSeparator(byte b) {
        return b == '\n' || b == '\r' || b == ' ' || b == '\t' || b == ',' || b == ';';
    }

    private static int indexOf(byte[] text, byte wanted, int from, int to) {
        for (int i = from; i < to; i++) {
            if (text[i] == wanted) {
                return i;
            }
        }
        return -1;
    }

    private static int parseVersion(byte[] text, int from, int to, String field, int entry) {
        if (to == from || to - from > 9) {
            throw new InvalidInputException(field, "entry " + entry + ": the version must be 1 to 9 digits");
        }
        int version = 0;
        for (int i = from; i < to; i++) {
            if (text[i] < '0' || text[i] > '9') {
                throw new InvalidInputException(field, "entry " + entry + ": the version must be a whole number");
            }
            version = version * 10 + (text[i] - '0');
        }
        if (version < 1) {
            throw new InvalidInputException(field, "entry " + entry + ": the version must be 1 or more");
        }
        return version;
    }

    private static byte[] decode(byte[] text, int from, int to, String field, int entry) {
        byte[] encoded = new byte[to - from];
        int n = 0;
        try {
            for (int i = from; i < to; i++) {
                byte b = text[i];
                if (b == '=') {
                    continue; // padding: optional
                }
                encoded[n++] = b == '+' ? (byte) '-' : b == '/' ? (byte) '_' : b;
            }
            byte[] exact = java.util.Arrays.copyOf(encoded, n);
            try {
                byte[] key = Base64.getUrlDecoder().decode(exact);
                if (key.length != KekRing.KEK_BYTES) {
                    int length = key.length;
                    Bytes.wipe(key);
                    throw new InvalidInputException(field, "entry " + entry + ": the KEK is " + length
                            + " bytes; it must be exactly " + KekRing.KEK_BYTES + " bytes (256 bits)");
                }
                return key;
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException(field, "entry " + entry
                        + ": the KEK is not valid base64 or base64url");
            } finally {
                Bytes.wipe(exact);
            }
        } finally {
            Bytes.wipe(encoded);
        }
    }
}
