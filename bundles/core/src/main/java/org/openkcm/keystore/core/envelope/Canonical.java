package org.openkcm.keystore.core.envelope;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The writer of the canonical, length-prefixed encoding that RECORD-FORMAT.md describes: every
 * integer big-endian, every string a 2-byte length and its UTF-8 bytes, every optional field a
 * presence byte (0 or 1) and, if 1, its value. No two different inputs encode to the same bytes.
 */
final class Canonical {
    private byte[] buf;
    private int len;

    Canonical(int capacity) {
        buf = new byte[capacity];
    }

    Canonical u8(int value) {
        ensure(1);
        buf[len++] = (byte) value;
        return this;
    }

    Canonical u16(int value) {
        if (value < 0 || value > 0xFFFF) {
            throw new IllegalArgumentException("value does not fit in 16 bits");
        }
        ensure(2);
        buf[len++] = (byte) (value >>> 8);
        buf[len++] = (byte) value;
        return this;
    }

    Canonical u32(long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("value does not fit in 32 bits");
        }
        ensure(4);
        for (int shift = 24; shift >= 0; shift -= 8) {
            buf[len++] = (byte) (value >>> shift);
        }
        return this;
    }

    Canonical i64(long value) {
        ensure(8);
        for (int shift = 56; shift >= 0; shift -= 8) {
            buf[len++] = (byte) (value >>> shift);
        }
        return this;
    }

    Canonical str(String value) {
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        u16(utf8.length);
        return raw(utf8);
    }

    /** A 4-byte length and the bytes. */
    Canonical blob(byte[] bytes) {
        u32(bytes.length);
        return raw(bytes);
    }

    Canonical present(boolean present) {
        return u8(present ? 1 : 0);
    }

    Canonical raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        return this;
    }

    byte[] toBytes() {
        return Arrays.copyOf(buf, len);
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }
}
