package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The audit trail of the shell against the built runtime: every command that changes or deletes a
 * key, reveals material or runs an admin operation leaves its lines in data/audit/audit.log
 * (owner-only, never material); read-only commands leave none; and when the audit log cannot be
 * written, an audited command fails with one clear line and changes nothing.
 */
@Timeout(180)
class AuditIT {
    private static final Pattern LINE = Pattern.compile("\\{\"time\":\"(?<time>[^\"]+)\",\"caller\":\"(?<caller>[^\"]+)\","
            + "\"channel\":\"shell\",\"operation\":\"(?<operation>[a-z-]+)\",\"keyId\":(?<key>null|\"[^\"]+\"),"
            + "\"outcome\":\"(?<outcome>[a-z]+)\",\"errorClass\":(?<error>null|\"[A-Za-z]+\")}");

    private static Distribution shipped(TestInfo test) throws Exception {
        return Distribution.copy("audit-" + test.getTestMethod().orElseThrow().getName());
    }

    private static Distribution.Result script(Distribution distribution, String... lines) throws Exception {
        Path script = distribution.path("test.gosh");
        Files.write(script, List.of(lines));
        return distribution.run(script.toString());
    }

    /** operation, key, outcome and error class of every line, in order, each line checked whole. */
    private static List<String> audited(Distribution distribution) throws Exception {
        return Files.readAllLines(distribution.path("data/audit/audit.log")).stream().map(line -> {
            Matcher m = LINE.matcher(line);
            assertTrue(m.matches(), "not an audit line: " + line);
            assertEquals(System.getProperty("user.name"), m.group("caller"));
            return m.group("operation") + " " + m.group("key").replace("\"", "") + " " + m.group("outcome") + " "
                    + m.group("error").replace("\"", "");
        }).toList();
    }

    @Test
    void everyAuditedShellCommandLeavesItsStartedAndOutcomeLines(TestInfo test) throws Exception {
        Distribution distribution = shipped(test);

        Distribution.Result result = script(distribution,
                "keystore:generate --type L3 --owner tenant/acme k1",
                "keystore:list",
                "keystore:show k1:1",
                "keystore:rotate k1",
                "keystore:reveal k1:2",
                "keystore:backends",
                "keystore:rewrap",
                "keystore:delete k1:1");
        Distribution.Result failed = distribution.run("-c", "keystore:delete nosuch:1");

        assertEquals(0, result.exit(), result::toString);
        assertEquals(1, failed.exit(), failed::toString);
        String material = result.out().lines().filter(l -> l.matches("[0-9a-f]{64}")).findFirst().orElseThrow(
                () -> new AssertionError("reveal printed no material\n" + result));
        assertEquals(List.of(
                "generate k1 started null", "generate k1 ok null",
                "rotate k1 started null", "rotate k1 ok null",
                "reveal k1:2 started null", "reveal k1:2 ok null",
                "rewrap null started null", "rewrap null ok null",
                "delete k1:1 started null", "delete k1:1 ok null",
                "delete nosuch:1 started null", "delete nosuch:1 error KeyNotFoundException"), audited(distribution));

        Path folder = distribution.path("data/audit");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(folder.resolve("audit.log"))));
        assertFalse(Files.readString(folder.resolve("audit.log")).contains(material), "material in the audit log");
    }

    @Test
    void whenTheAuditLogCannotBeWrittenAnAuditedCommandFailsAndChangesNothing(TestInfo test) throws Exception {
        Distribution distribution = shipped(test);
        Distribution.Result created = distribution.run("-c", "keystore:generate --type L3 --owner tenant/acme k1");
        assertEquals(0, created.exit(), created::toString);
        Path log = distribution.path("data/audit/audit.log");
        List<String> before = Files.readAllLines(log);
        // audit.log becomes a folder: nothing can be appended to it
        Files.move(log, distribution.path("data/audit/audit.log.saved"));
        Files.createDirectory(log);

        Distribution.Result refused = distribution.run("-c", "keystore:delete k1:1");
        Distribution.Result listed = distribution.run("-c", "keystore:list");

        assertEquals(1, refused.exit(), refused::toString);
        String error = refused.errLines().stream().filter(l -> l.startsWith("error: ")).findFirst().orElseThrow(
                () -> new AssertionError("no error line\n" + refused));
        assertEquals("error: unavailable: keystore:delete was not run, nothing changed: audit log " + log.toAbsolutePath()
                + " cannot be written: Is a directory", error);
        assertEquals(0, listed.exit(), "a command that only reads metadata runs without the audit log\n" + listed);
        assertTrue(Pattern.compile("(?m)^k1:1\\s+L3\\s+ACTIVE").matcher(listed.out()).find(), "the key is still there\n" + listed);

        Files.delete(log);
        Distribution.Result deleted = distribution.run("-c", "keystore:delete k1:1");
        assertEquals(0, deleted.exit(), "with the audit log writable again the command runs\n" + deleted);
        assertEquals(before, Files.readAllLines(distribution.path("data/audit/audit.log.saved")));
        assertEquals(List.of("delete k1:1 started null", "delete k1:1 ok null"), audited(distribution));
    }
}
