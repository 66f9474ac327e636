package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The KEK in the built distribution: the key file and the known-KEK record live in the home's
 * {@code data/kek/}; a changed KEK path, another key under the same KEK id, a symbolic link in
 * place of the key file and a group-writable KEK folder are each refused at start with one line on
 * the console and exit 3, and nothing is created or changed.
 */
@Timeout(180)
class KekStartupIT {
    private static final String NOT_STARTED = "error: not started: the starting configuration is invalid";

    /** A fresh distribution that has run once and stored a key, so its KEK is recorded. */
    private static Distribution used(TestInfo test) throws Exception {
        Distribution distribution = Distribution.copy("kek-" + test.getTestMethod().orElseThrow().getName());
        Distribution.Result first = distribution.run("-c",
                "keystore:generate --type L2 --owner tenant/acme acme-root");
        assertEquals(0, first.exit(), first::toString);
        return distribution;
    }

    private static List<String> errors(Distribution.Result result) {
        return result.errLines().stream().filter(l -> l.startsWith("error: ") && !l.startsWith(NOT_STARTED)).toList();
    }

    /** Exit 3 with exactly one error line, which contains {@code expected}. */
    private static void assertRefusedOnOneLine(Distribution.Result result, String expected) {
        assertEquals(Main.NOT_STARTED, result.exit(), result::toString);
        List<String> errors = errors(result);
        assertEquals(1, errors.size(), result::toString);
        assertTrue(errors.get(0).contains(expected), result::toString);
        assertFalse(result.err().contains("\tat "), () -> "no stack trace\n" + result);
        assertFalse(result.err().contains("not ready after"), () -> "no wait for readiness\n" + result);
    }

    @Test
    void theKeyFileAndTheKnownKekRecordAreInTheHome(TestInfo test) throws Exception {
        Distribution distribution = used(test);
        Path record = distribution.path("data/kek/known-keks");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(record)));
        assertTrue(Files.readString(record).lines().anyMatch(l -> l.matches("local 1 [A-Za-z0-9_-]{43} used")),
                Files.readString(record));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(distribution.path("data/kek/local.kek"))));
        Distribution.Result again = distribution.run("-c", "keystore:show acme-root:1");
        assertEquals(0, again.exit(), again::toString);
    }

    @Test
    void aFreshKekIsAnnouncedOnOneWarningLineOnlyWhenItIsCreated(TestInfo test) throws Exception {
        // a home with no data/kek: a first start, or openkcm.home changed (the key file and the record move together)
        Distribution distribution = Distribution.copy("kek-" + test.getTestMethod().orElseThrow().getName())
                .environment("JAVA_OPTS", Distribution.JAVA_OPTS + " -Dopenkcm.log.console=warn");
        Path kek = distribution.path("data/kek/local.kek");
        Distribution.Result first = distribution.run("-c", "keystore:list");
        assertEquals(0, first.exit(), first::toString);
        List<String> warnings = first.errLines().stream().filter(l -> l.startsWith("warning: ")
                && l.contains("Created a fresh KEK file " + kek + " ")).toList();
        assertEquals(1, warnings.size(), first::toString);
        assertTrue(warnings.get(0).contains("no KEK file and no known-KEK record of 'local' were found there (record: "
                + distribution.path("data/kek/known-keks") + ")") && warnings.get(0).contains("restore that home's "
                + "data/kek"), warnings.get(0));

        Distribution.Result second = distribution.run("-c", "keystore:list");
        assertEquals(0, second.exit(), second::toString);
        assertFalse(second.err().contains("Created a fresh KEK file"), second::toString);
    }

    @Test
    void aChangedKekPathNeverCreatesAFreshKek(TestInfo test) throws Exception {
        Distribution distribution = used(test);
        Path cfg = distribution.path("config/org.openkcm.keystore.kek.file.cfg");
        Files.writeString(cfg, Files.readString(cfg).replace("data/kek/local.kek", "data/kek/moved.kek"));
        Path moved = distribution.path("data/kek/moved.kek");
        Distribution.Result result = distribution.run("-c", "keystore:list");
        assertRefusedOnOneLine(result, "the KEK file " + moved + " does not exist, but KEK 'local' was used before");
        assertFalse(Files.exists(moved), "no fresh KEK was created");
    }

    @Test
    void anotherKeyUnderTheSameKekIdIsRefusedAndNothingIsWritten(TestInfo test) throws Exception {
        Distribution distribution = used(test);
        Path kek = distribution.path("data/kek/local.kek");
        byte[] other = new byte[32];
        new java.security.SecureRandom().nextBytes(other);
        Files.writeString(kek, "1:" + Base64.getEncoder().encodeToString(other) + "\n", StandardCharsets.US_ASCII);
        Path record = distribution.path("data/kek/known-keks");
        byte[] recorded = Files.readAllBytes(record);
        // printed with the console log off too: a KEK refusal is a start-up problem, like a configuration error
        Distribution.Result result = distribution.environment("JAVA_OPTS",
                Distribution.JAVA_OPTS + " -Dopenkcm.log.console=off").run("--daemon");
        assertRefusedOnOneLine(result, "error: [org.openkcm.keystore.core] KEK refused: KEK 'local' version 1 is not "
                + "the key recorded under that id and version in the known-KEK record " + record);
        assertArrayEquals(recorded, Files.readAllBytes(record), "the record is unchanged");

        // a command that would seal is refused the same way, and nothing is sealed under the replaced key
        Map<String, String> keys = records(distribution.path("data/keys"));
        assertFalse(keys.isEmpty(), "the first run stored acme-root");
        byte[] replaced = Files.readAllBytes(kek);
        Distribution.Result generate = distribution.run("-c", "keystore:generate --type L2 --owner tenant/acme other-root");
        assertRefusedOnOneLine(generate, "KEK refused: KEK 'local' version 1 is not the key recorded");
        assertFalse(generate.out().contains("other-root"), generate::toString);
        assertEquals(keys, records(distribution.path("data/keys")), "no key record written or changed");
        assertArrayEquals(replaced, Files.readAllBytes(kek), "the key file is left as it was");
        assertArrayEquals(recorded, Files.readAllBytes(record), "the record is still unchanged");
    }

    /** Every key record file ({@code .rec}) under {@code root}, by relative path, with its content (base64). */
    private static Map<String, String> records(Path root) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.filter(f -> f.toString().endsWith(".rec"))::iterator) {
                files.put(root.relativize(p).toString(), Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
            }
        }
        return files;
    }

    @Test
    void aSymbolicLinkInPlaceOfTheKeyFileIsRefused(TestInfo test) throws Exception {
        Distribution distribution = used(test);
        Path kek = distribution.path("data/kek/local.kek");
        Path elsewhere = distribution.path("data/local.kek.copy");
        Files.move(kek, elsewhere);
        Files.createSymbolicLink(kek, elsewhere);
        Distribution.Result result = distribution.run("-c", "keystore:list");
        assertRefusedOnOneLine(result, "the KEK file " + kek + " is a symbolic link");
    }

    @Test
    void aGroupWritableKekFolderIsRefused(TestInfo test) throws Exception {
        Distribution distribution = used(test);
        Path folder = distribution.path("data/kek");
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxrwx---"));
        Distribution.Result result = distribution.run("-c", "keystore:list");
        assertRefusedOnOneLine(result, "the folder " + folder + " of the KEK file " + folder.resolve("local.kek")
                + " is writable by group (mode 0770)");
        assertEquals("rwxrwx---", PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)));
    }
}
