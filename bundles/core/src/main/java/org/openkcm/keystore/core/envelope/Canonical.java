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
        int n = value.length();
        if (n <= 0xFFFF && isAscii(value)) {
            // ASCII (ids, names, labels: nearly every string here) is its own UTF-8: no intermediate array
            u16(n);
            ensure(n);
            for (int i = 0; i < n; i++) {
                buf[len++] = (byte) value.charAt(i);
            }
            return this;
        }
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        u16(utf8.length);
        return raw(utf8);
    }

    /** A 4-byte length, then what {@code body} writes, without an intermediate array. */
    Canonical blob(java.util.function.Consumer<Canonical> body) {
        int at = len;
        u32(0);
        body.accept(this);
        long n = len - at - 4L;
        for (int shift = 24, i = at; shift >= 0; shift -= 8, i++) {
            buf[i] = (byte) (n >>> shift);
        }
        return this;
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
        return raw(bytes, 0, bytes.length);
    }

    Canonical raw(byte[] bytes, int offset, int length) {
        ensure(length);
        System.arraycopy(bytes, offset, buf, len, length);
        len += length;
        return this;
    }

    byte[] toBytes() {
        return Arrays.copyOf(buf, len);
    }

    /** The buffer written so far, valid up to {@link #length()} (no copy; for a cipher's AAD). */
    byte[] array() {
        return buf;
    }

    int length() {
        return len;
    }

    private static boolean isAscii(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }
}
