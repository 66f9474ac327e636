package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.core.testing.TestKeks;

/** The text form of a KEK ring: what is accepted, and that malformed input is a clear typed error. */
class KekRingTextTest {
    private static final byte[] K1 = TestKeks.kek(1);
    private static final byte[] K2 = TestKeks.kek(2);

    private static Map<Integer, byte[]> parse(String text) {
        return KekRingText.parse(text.getBytes(StandardCharsets.US_ASCII), "test");
    }

    @Test
    void formatThenParseKeepsEveryVersion() {
        Map<Integer, byte[]> parsed = KekRingText.parse(KekRingText.format(Map.of(1, K1, 2, K2)), "test");
        assertEquals(List.of(1, 2), List.copyOf(parsed.keySet()));
        assertArrayEquals(K1, parsed.get(1));
        assertArrayEquals(K2, parsed.get(2));
    }

    @Test
    void acceptsBase64AndBase64UrlPaddedOrNotWithCommentsAndSeparators() {
        String std = Base64.getEncoder().encodeToString(K1);
        String url = Base64.getUrlEncoder().withoutPadding().encodeToString(K2);
        Map<Integer, byte[]> parsed = parse("# ring\n1:" + std + " # first\r\n\n2:" + url + "\n");
        assertArrayEquals(K1, parsed.get(1));
        assertArrayEquals(K2, parsed.get(2));
        Map<Integer, byte[]> inline = parse("1:" + std + ",2:" + url);
        assertArrayEquals(K2, inline.get(2));
        Map<Integer, byte[]> semicolons = parse("2:" + url + ";1:" + std);
        assertEquals(List.of(1, 2), List.copyOf(semicolons.keySet()));
    }

    @Test
    void aSingleBareKeyIsVersionOne() {
        Map<Integer, byte[]> parsed = parse(Base64.getEncoder().encodeToString(K1) + "\n");
        assertEquals(List.of(1), List.copyOf(parsed.keySet()));
        assertArrayEquals(K1, parsed.get(1));
    }

    @Test
    void wrongLengthIsRefusedWithoutEchoingTheKey() {
        String shortKey = Base64.getEncoder().encodeToString(new byte[16]);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> parse("1:" + shortKey));
        assertTrue(e.getMessage().contains("16 bytes") && e.getMessage().contains("32 bytes"), e.getMessage());
        assertFalse(e.getMessage().contains(shortKey));
        String longKey = Base64.getEncoder().encodeToString(new byte[48]);
        assertThrows(InvalidInputException.class, () -> parse("1:" + longKey));
    }

    @Test
    void badEncodingIsRefusedWithoutEchoingTheKey() {
        String bad = "!!!!" + Base64.getEncoder().encodeToString(K1).substring(4);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> parse("1:" + bad));
        assertTrue(e.getMessage().contains("base64"), e.getMessage());
        assertFalse(e.getMessage().contains(bad.substring(4)));
    }

    @Test
    void malformedRingsAreRefused() {
        String k = Base64.getEncoder().encodeToString(K1);
        assertThrows(InvalidInputException.class, () -> parse(""));
        assertThrows(InvalidInputException.class, () -> parse("# only a comment\n"));
        assertThrows(InvalidInputException.class, () -> parse("1:" + k + "\n1:" + k), "duplicate version");
        assertThrows(InvalidInputException.class, () -> parse("0:" + k), "version 0");
        assertThrows(InvalidInputException.class, () -> parse("x:" + k), "version not a number");
        assertThrows(InvalidInputException.class, () -> parse(k + "\n" + k), "two bare keys");
        assertThrows(InvalidInputException.class, () -> parse("1:"), "empty key");
    }
}
