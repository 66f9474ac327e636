package org.openkcm.keystore.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;

import org.junit.jupiter.api.Test;

class AuditRecordTest {

    private static final Instant T = Instant.parse("2026-12-02T10:15:30.123Z");

    @Test
    void normalisesTokensAndBlankOptionalFields() {
        AuditRecord r = new AuditRecord(T, "  alice ", "Shell", "GET", " ", "OK", "");
        assertEquals("alice", r.caller());
        assertEquals("shell", r.channel());
        assertEquals("get", r.operation());
        assertEquals("ok", r.outcome());
        assertNull(r.keyId());
        assertNull(r.errorClass());
    }

    @Test
    void keepsKeyIdAndErrorClassTrimmed() {
        AuditRecord r = new AuditRecord(T, "alice", "grpc", "delete", " tenant:t1/k@2 ", "error",
                " KeyNotFoundException ");
        assertEquals("tenant:t1/k@2", r.keyId());
        assertEquals("KeyNotFoundException", r.errorClass());
    }

    @Test
    void refusesMissingRequiredFields() {
        assertThrows(NullPointerException.class, () -> new AuditRecord(null, "a", "shell", "get", null, "ok", null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new AuditRecord(T, " ", "shell", "get", null, "ok", null));
        assertTrue(e.getMessage().contains("caller"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new AuditRecord(T, "a", null, "get", null, "ok", null));
        assertThrows(IllegalArgumentException.class, () -> new AuditRecord(T, "a", "shell", "", null, "ok", null));
        assertThrows(IllegalArgumentException.class, () -> new AuditRecord(T, "a", "shell", "get", null, null, null));
    }

    @Test
    void refusesControlCharactersSoALineStaysOneLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new AuditRecord(T, "mallory\n{\"forged\":1}", "shell", "get", null, "ok", null));
        assertTrue(e.getMessage().contains("control"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new AuditRecord(T, "a", "shell", "get", "k\r1", "ok", null));
    }

    @Test
    void refusesTokensThatAreNotTokensAndOverlongFields() {
        assertThrows(IllegalArgumentException.class, () -> new AuditRecord(T, "a", "sh ell", "get", null, "ok", null));
        assertThrows(IllegalArgumentException.class, () -> new AuditRecord(T, "a", "shell", "1get", null, "ok", null));
        String longCaller = "x".repeat(AuditRecord.MAX_CALLER_LENGTH + 1);
        assertThrows(IllegalArgumentException.class,
                () -> new AuditRecord(T, longCaller, "shell", "get", null, "ok", null));
    }
}
