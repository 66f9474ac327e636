package org.openkcm.keystore.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretSourceTest {

    @TempDir
    Path dir;

    private static final Map<String, String> ENV = Map.of("OPENKCM_SECRET_BAO", "s.bao", "BAO_TOKEN", "s.other",
            "OPENKCM_SECRET_KEK_PIN", "1234");

    private SecretSource unconfinedFile(Path path) {
        return SecretSource.parse("token.ref", "file:" + path, ENV::get);
    }

    private SecretPolicy policy() {
        return SecretPolicy.from(Map.of(SecretPolicy.DIR, dir.resolve("secrets").toString())::get);
    }

    private SecretSource confined(String reference, SecretUse use) {
        return SecretSource.parse("token.source", reference, ENV::get, policy(), use);
    }

    @Test
    void unconfinedReadsARegularFileAndALinkToOne() throws Exception {
        Path secret = Files.writeString(dir.resolve("token"), "s.abc\n");
        assertEquals("s.abc", unconfinedFile(secret).read());
        Path link = Files.createSymbolicLink(dir.resolve("link"), secret);
        assertEquals("s.abc", unconfinedFile(link).read(), "a mounted secret is a link to a regular file");
        assertEquals("s.other", SecretSource.parse("token.ref", "env:BAO_TOKEN", ENV::get).read());
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = Fifo.make(dir.resolve("token"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> unconfinedFile(fifo).read());
        assertEquals("token.ref: " + fifo + ": not a regular file (a FIFO, socket or device)", e.getMessage());
    }

    @Test
    void aMissingFileIsNamed() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> unconfinedFile(dir.resolve("none")).read());
        assertEquals("token.ref: cannot read " + dir.resolve("none") + " (NoSuchFileException)", e.getMessage());
    }

    @Test
    void anOversizedFileIsRefusedAndNotEchoed() throws Exception {
        Path big = Files.writeString(dir.resolve("token"), "x".repeat(16 * 1024 + 1));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> unconfinedFile(big).read());
        assertEquals("token.ref: " + big + ": larger than 16384 bytes; it does not hold a credential", e.getMessage());
        assertEquals(16 * 1024 + 1, Files.size(big), "the file is left as it was");
    }

    @Test
    void aPlainValueIsRefusedAndNotEchoed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SecretSource.parse("token.source", "hvs.secretvalue", ENV::get));
        assertTrue(e.getMessage().startsWith("token.source must be a reference"), e.getMessage());
        assertFalse(e.getMessage().contains("hvs.secretvalue"), e.getMessage());
    }

    @Test
    void withNoPropertySetTheDefaultsConfineAndAPlainEmbeddingMayNameNoFile() {
        SecretPolicy none = SecretPolicy.from(Map.<String, String>of()::get);
        assertTrue(none.isConfined(), "the allow-list is on without any property");
        assertEquals("env:OPENKCM_SECRET_BAO",
                SecretSource.parse("token.source", "env:OPENKCM_SECRET_BAO", ENV::get, none, SecretUse.CREDENTIAL).toString());
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                () -> SecretSource.parse("token.source", "env:BAO_TOKEN", ENV::get, none, SecretUse.CREDENTIAL));
        assertEquals("token.source = 'env:BAO_TOKEN' is not an allowed secret source: an environment variable must be"
                + " named OPENKCM_SECRET_…, the prefix the operator allowed (openkcm.secrets.env.prefix); allowed:"
                + " env:OPENKCM_SECRET_… (no file: no secrets folder)", outside.getMessage());
        IllegalArgumentException file = assertThrows(IllegalArgumentException.class,
                () -> SecretSource.parse("token.source", "file:/run/secrets/bao", ENV::get, none, SecretUse.CREDENTIAL));
        assertTrue(file.getMessage().startsWith("token.source = 'file:/run/secrets/bao' is not an allowed secret source:"
                + " no secrets folder is set"), file.getMessage());
        SecretPolicy homeOnly = SecretPolicy.from(Map.of("openkcm.home", "/srv/kcm")::get);
        assertEquals(Path.of("/srv/kcm/secrets"), homeOnly.folder().orElseThrow(), "with a home: <home>/secrets");
        SecretPolicy karaf = SecretPolicy.from(Map.of("karaf.base", "/opt/karaf")::get);
        assertEquals(Path.of("/opt/karaf/secrets"), karaf.folder().orElseThrow(), "under Karaf: ${karaf.base}/secrets");
        SecretPolicy prefixOnly = SecretPolicy.from(Map.of(SecretPolicy.ENV_PREFIX, "APP_", "openkcm.home", "/srv/kcm")::get);
        assertTrue(prefixOnly.isConfined());
        assertEquals(Path.of("/srv/kcm/secrets"), prefixOnly.folder().orElseThrow(), "the default folder is <home>/secrets");
        SecretPolicy dirOnly = policy();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SecretSource.parse("token.source", "env:BAO_TOKEN", ENV::get, dirOnly, SecretUse.CREDENTIAL));
        assertEquals("token.source = 'env:BAO_TOKEN' is not an allowed secret source: an environment variable must be"
                + " named OPENKCM_SECRET_…, the prefix the operator allowed (openkcm.secrets.env.prefix); allowed:"
                + " env:OPENKCM_SECRET_… or file:" + dir.resolve("secrets") + "/…", e.getMessage());
    }

    @Test
    void allowListedSourcesAreRead() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(secrets.resolve("bao-token"), "s.file\n");
        assertEquals("s.bao", confined("env:OPENKCM_SECRET_BAO", SecretUse.CREDENTIAL).read());
        assertEquals("s.file", confined("file:" + secrets.resolve("bao-token"), SecretUse.CREDENTIAL).read());
        Files.createDirectories(secrets.resolve("kek"));
        Files.writeString(secrets.resolve("kek/pin"), "1234");
        assertEquals("1234", confined("file:" + secrets.resolve("kek/pin"), SecretUse.KEK).read());
        assertEquals("1234", confined("env:OPENKCM_SECRET_KEK_PIN", SecretUse.KEK).read());
    }

    @Test
    void aFileOutsideTheFolderOrNamedWithDotDotIsRefused() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Path outside = Files.writeString(dir.resolve("token"), "s.out");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> confined("file:" + outside, SecretUse.CREDENTIAL));
        assertEquals("token.source = 'file:" + outside + "' is not an allowed secret source: a file must be inside the"
                + " secrets folder " + secrets + " (openkcm.secrets.dir), named without '..'; allowed:"
                + " env:OPENKCM_SECRET_… or file:" + secrets + "/…", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> confined("file:" + secrets + "/../token", SecretUse.CREDENTIAL));
        assertEquals("s.out", Files.readString(outside), "nothing changed");
    }

    @Test
    void aLinkInsideTheFolderThatLeadsOutIsRefused() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Path outside = Files.writeString(dir.resolve("elsewhere"), "s.out");
        Path link = Files.createSymbolicLink(secrets.resolve("token"), outside);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> confined("file:" + link, SecretUse.CREDENTIAL));
        assertTrue(e.getMessage().endsWith(link + " is a symbolic link; inside the secrets folder files are named as"
                + " they are, so that none leads out of it; allowed: env:OPENKCM_SECRET_… or file:" + secrets + "/…"),
                e.getMessage());
        Path linkedFolder = Files.createSymbolicLink(secrets.resolve("sub"), dir);
        assertThrows(IllegalArgumentException.class,
                () -> confined("file:" + linkedFolder.resolve("elsewhere"), SecretUse.CREDENTIAL));
    }

    @Test
    void aLinkPutInAfterParsingIsRefusedAtRead() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Path token = Files.writeString(secrets.resolve("token"), "s.in");
        SecretSource source = confined("file:" + token, SecretUse.CREDENTIAL);
        Files.delete(token);
        Files.createSymbolicLink(token, Files.writeString(dir.resolve("elsewhere"), "s.out"));
        IllegalStateException e = assertThrows(IllegalStateException.class, source::read);
        assertTrue(e.getMessage().contains("is a symbolic link"), e.getMessage());
    }

    @Test
    void aKekSourceIsNeverACredentialAndTheReverse() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        IllegalArgumentException env = assertThrows(IllegalArgumentException.class,
                () -> confined("env:OPENKCM_SECRET_KEK_PIN", SecretUse.CREDENTIAL));
        assertEquals("token.source = 'env:OPENKCM_SECRET_KEK_PIN' is not an allowed secret source: variables named"
                + " OPENKCM_SECRET_KEK_… are KEK providers' secrets and are never sent to a server as a token or a"
                + " password; allowed: env:OPENKCM_SECRET_… or file:" + secrets + "/…", env.getMessage());
        IllegalArgumentException file = assertThrows(IllegalArgumentException.class,
                () -> confined("file:" + secrets.resolve("kek/transit-token"), SecretUse.CREDENTIAL));
        assertTrue(file.getMessage().contains("are KEK providers' secrets"), file.getMessage());
        IllegalArgumentException reverse = assertThrows(IllegalArgumentException.class,
                () -> confined("env:OPENKCM_SECRET_BAO", SecretUse.KEK));
        assertEquals("token.source = 'env:OPENKCM_SECRET_BAO' is not an allowed secret source: a KEK provider's secret"
                + " must be a variable named OPENKCM_SECRET_KEK_…, kept apart from backend credentials; allowed:"
                + " env:OPENKCM_SECRET_… or file:" + secrets + "/…", reverse.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> confined("file:" + secrets.resolve("bao-token"), SecretUse.KEK));
    }

    @Test
    void theLocalKekFileIsNeverASecretSourceEvenInsideTheFolder() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home"));
        Path kek = Files.createDirectories(home.resolve("data/kek")).resolve("local.kek");
        Files.writeString(kek, "1:AAAA");
        // An operator who made the whole home the secrets folder still cannot name the local KEK file.
        SecretPolicy policy = SecretPolicy.from(Map.of(SecretPolicy.DIR, home.toString(), "openkcm.home", home.toString())::get);
        for (SecretUse use : SecretUse.values()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SecretSource.parse("token.source", "file:" + kek, ENV::get, policy, use));
            assertEquals("token.source = 'file:" + kek + "' is not an allowed secret source: files under "
                    + home.resolve("data") + " (the local KEK file, the sealed KEK rings, the journal) are never a secret"
                    + " source; allowed: env:OPENKCM_SECRET_… or file:" + home + "/…", e.getMessage());
        }
        assertEquals("1:AAAA", Files.readString(kek), "nothing changed");
    }

    @Test
    void withoutAFolderNoFileMayBeNamed() {
        SecretPolicy prefixOnly = SecretPolicy.from(Map.of(SecretPolicy.ENV_PREFIX, "APP_")::get);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SecretSource.parse(
                "password.ref", "file:/run/secrets/pg", ENV::get, prefixOnly, SecretUse.CREDENTIAL));
        assertTrue(e.getMessage().contains("no secrets folder is set"), e.getMessage());
    }
}
