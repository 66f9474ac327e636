package org.openkcm.keystore.shell;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.secrets.BoundedRead;
import org.openkcm.keystore.secrets.FileRefusedException;

/**
 * Reads key material for {@code keystore:import} from a file or standard input, never from the
 * command line (which lands in shell history and process lists). Decoding works on bytes only, so
 * no {@code String} ever holds material; every intermediate array is wiped.
 */
final class MaterialInput {
    /** Refuse absurd inputs before reading them whole. */
    static final int MAX_INPUT_BYTES = 1 << 20;

    private MaterialInput() {
    }

    static KeyMaterial read(String source, String encoding, InputStream stdin) throws IOException {
        byte[] raw = "-".equals(source) ? readAll(stdin) : readFile(Path.of(source));
        try {
            switch (encoding) {
                case "raw":
                    return KeyMaterial.copyOf(raw);
                case "base64":
                    byte[] text = trim(raw);
                    try {
                        return KeyMaterial.wrap(Base64.getMimeDecoder().decode(text));
                    } finally {
                        Arrays.fill(text, (byte) 0);
                    }
                case "hex":
                    return KeyMaterial.wrap(hex(trim(raw)));
                default:
                    throw new InvalidInputException("--encoding", "must be raw, base64 or hex");
            }
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("--file", "is not valid " + encoding);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private static byte[] readFile(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new InvalidInputException("--file", "must name a readable file (or - for standard input)");
        }
        try {
            // A regular file (a FIFO would hang the shell), capped while read too.
            return BoundedRead.bytes(file, MAX_INPUT_BYTES, BoundedRead.Links.FOLLOW);
        } catch (FileRefusedException e) {
            throw new InvalidInputException("--file", e.getMessage().contains("larger than")
                    ? "must be at most " + MAX_INPUT_BYTES + " bytes" : "must name a regular file (or - for standard input): "
                    + e.getMessage());
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        byte[] chunk = new byte[4096];
        try {
            int n;
            while ((n = in.read(chunk)) >= 0) {
                if (buffer.size() + n > MAX_INPUT_BYTES) {
                    throw new InvalidInputException("--file", "standard input must be at most " + MAX_INPUT_BYTES + " bytes");
                }
                buffer.write(chunk, 0, n);
            }
            return buffer.toByteArray();
        } finally {
            Arrays.fill(chunk, (byte) 0);
        }
    }

    /** A copy without surrounding whitespace; the caller wipes the original. */
    private static byte[] trim(byte[] bytes) {
        int from = 0;
        int to = bytes.length;
        while (from < to && Character.isWhitespace(bytes[from])) {
            from++;
        }
        while (to > from && Character.isWhitespace(bytes[to - 1])) {
            to--;
        }
        return Arrays.copyOfRange(bytes, from, to);
    }

    private static byte[] hex(byte[] digits) {
        try {
            if (digits.length % 2 != 0) {
                throw new IllegalArgumentException("odd number of hex digits");
            }
            byte[] out = new byte[digits.length / 2];
            for (int i = 0; i < out.length; i++) {
                int hi = Character.digit(digits[2 * i], 16);
                int lo = Character.digit(digits[2 * i + 1], 16);
                if (hi < 0 || lo < 0) {
                    Arrays.fill(out, (byte) 0);
                    throw new IllegalArgumentException("not a hex digit");
                }
                out[i] = (byte) (hi << 4 | lo);
            }
            return out;
        } finally {
            Arrays.fill(digits, (byte) 0);
        }
    }
}
