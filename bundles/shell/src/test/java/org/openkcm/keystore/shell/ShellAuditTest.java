package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.felix.service.command.CommandSession;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditRecord;

class ShellAuditTest {
    private static final Instant T = Instant.parse("2026-12-02T12:00:00Z");

    private final RecordingAuditLog log = new RecordingAuditLog();
    private final ShellAudit audit = new ShellAudit(() -> log, Clock.fixed(T, ZoneOffset.UTC));
    private final AtomicBoolean ran = new AtomicBoolean();

    private String work() {
        ran.set(true);
        return "done";
    }

    @Test
    void aCommandIsRecordedAsStartedThenOkWithTheSameTimeCallerAndKey() {
        assertEquals("done", audit.run(null, "delete", "k1:1", this::work));
        assertEquals(2, log.records.size());
        AuditRecord started = log.records.get(0);
        AuditRecord ok = log.records.get(1);
        assertEquals(new AuditRecord(T, System.getProperty("user.name"), "shell", "delete", "k1:1", "started", null), started);
        assertEquals(new AuditRecord(T, System.getProperty("user.name"), "shell", "delete", "k1:1", "ok", null), ok);
    }

    @Test
    void aFailedCommandIsRecordedWithItsErrorClassAndItsErrorIsRethrown() {
        KeyNotFoundException thrown = new KeyNotFoundException("k9");
        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> audit.run(null, "rotate", "k9", () -> {
            throw thrown;
        }));
        assertSame(thrown, e);
        assertEquals(List.of("started", "error"), log.records.stream().map(AuditRecord::outcome).toList());
        assertEquals("KeyNotFoundException", log.records.get(1).errorClass());
    }

    @Test
    void withoutAnAuditLogTheCommandIsNotRun() {
        ShellAudit none = new ShellAudit(() -> null, Clock.systemUTC());
        UnavailableException e = assertThrows(UnavailableException.class, () -> none.run(null, "delete", "k1:1", this::work));
        assertFalse(ran.get(), "the command ran without an audit log");
        assertEquals("unavailable: keystore:delete was not run, nothing changed: no audit log is running "
                + "(the bundle org.openkcm.keystore.audit must be active)", e.getMessage());
    }

    @Test
    void whenTheStartedRecordCannotBeWrittenTheCommandIsNotRun() {
        log.acceptBeforeFailing = 0;
        UnavailableException e = assertThrows(UnavailableException.class, () -> audit.run(null, "delete", "k1:1", this::work));
        assertFalse(ran.get(), "the command ran though its audit record could not be written");
        assertEquals("unavailable: keystore:delete was not run, nothing changed: audit log /tmp/audit/audit.log "
                + "cannot be written: disk full", e.getMessage());
        assertTrue(log.records.isEmpty());
    }

    @Test
    void whenTheOutcomeCannotBeWrittenTheCommandFailsAndItsResultIsWithheld() {
        log.acceptBeforeFailing = 1;
        UnavailableException e = assertThrows(UnavailableException.class,
                () -> audit.run(null, "reveal", "k1:1", () -> "00112233"));
        assertTrue(e.getMessage().startsWith("unavailable: keystore:reveal ran, but its outcome could not be audited"),
                e.getMessage());
        assertFalse(e.getMessage().contains("00112233"));
        assertEquals(List.of("started"), log.records.stream().map(AuditRecord::outcome).toList());
    }

    @Test
    void theCallerIsTheShellUserWhenTheSessionNamesOne() {
        CommandSession karaf = (CommandSession) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {CommandSession.class}, (proxy, method, args) ->
                        method.getName().equals("get") && "USER".equals(args[0]) ? "karaf" : null);
        audit.run(karaf, "rewrap", null, this::work);
        assertEquals("karaf", log.records.get(0).caller());
        assertNull(log.records.get(0).keyId());
        assertEquals(System.getProperty("user.name"), ShellAudit.caller(null));
    }
}
