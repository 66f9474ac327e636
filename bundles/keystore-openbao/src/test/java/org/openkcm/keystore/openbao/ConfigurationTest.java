package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.keystore.secrets.SecretPolicy;

/**
 * Configurations that must be refused before anything starts (the component's activation then
 * fails, and no caller can obtain its keystore), each with a message naming the property, and never
 * echoing a secret.
 */
class ConfigurationTest {
    private static final String SECRET = "s.VerySecretTokenValue123";
    private static final Function<String, String> ENV = Map.of("BAO_TOKEN", "t0ken", "EMPTY", " ")::get;

    @TempDir
    Path dir;

    private Map<String, Object> valid() throws Exception {
        Path token = dir.resolve("token");
        Files.writeString(token, "a-token\n");
        Map<String, Object> props = new HashMap<>();
        props.put("address", "https://bao.example.net:8200");
        props.put("token.source", "file:" + token);
        return props;
    }

    private static IllegalArgumentException refused(Map<String, Object> props) {
        return assertThrows(IllegalArgumentException.class,
                () -> OpenBaoSettings.from(TestConfig.of(props), ENV));
    }

    @Test
    void underTheOperatorsAllowListATokenFromElsewhereIsRefusedNamingTheRefAndTheRule() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        SecretPolicy policy = SecretPolicy.from(Map.of(SecretPolicy.DIR, secrets.toString())::get);
        Map<String, Object> props = valid(); // token.source = file:<dir>/token, outside the secrets folder
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpenBaoSettings.from(TestConfig.of(props), ENV, policy));
        assertEquals("token.source = 'file:" + dir.resolve("token") + "' is not an allowed secret source: a file must be"
                + " inside the secrets folder " + secrets + " (openkcm.secrets.dir), named without '..'; allowed:"
                + " env:OPENKCM_SECRET_… or file:" + secrets + "/…", e.getMessage());
        assertEquals("a-token\n", Files.readString(dir.resolve("token")), "nothing changed");

        props.put("token.source", "env:BAO_TOKEN");
        e = assertThrows(IllegalArgumentException.class, () -> OpenBaoSettings.from(TestConfig.of(props), ENV, policy));
        assertTrue(e.getMessage().startsWith("token.source = 'env:BAO_TOKEN' is not an allowed secret source: an"
                + " environment variable must be named OPENKCM_SECRET_"), e.getMessage());

        props.put("token.source", "env:OPENKCM_SECRET_KEK_TRANSIT_TOKEN");
        e = assertThrows(IllegalArgumentException.class, () -> OpenBaoSettings.from(TestConfig.of(props),
                Map.of("OPENKCM_SECRET_KEK_TRANSIT_TOKEN", "t")::get, policy));
        assertTrue(e.getMessage().contains("are KEK providers' secrets and are never sent to a server as a token"),
                e.getMessage());

        Files.writeString(secrets.resolve("bao-token"), "in-folder\n");
        props.put("token.source", "file:" + secrets.resolve("bao-token"));
        assertEquals("in-folder", OpenBaoSettings.from(TestConfig.of(props), ENV, policy).token.read());
        props.put("token.source", "env:OPENKCM_SECRET_BAO_TOKEN");
        assertEquals("t", OpenBaoSettings.from(TestConfig.of(props), Map.of("OPENKCM_SECRET_BAO_TOKEN", "t")::get,
                policy).token.read());
    }

    @Test
    void aValidConfigurationGivesItsSettings() throws Exception {
        Map<String, Object> props = valid();
        props.put("keystore.name", "bao-eu");
        props.put("keystore.regions", new String[] {"eu-west-1", "eu-central-1"});
        props.put("service.ranking", 7);

        OpenBaoSettings settings = OpenBaoSettings.from(TestConfig.of(props), ENV);

        assertEquals("bao-eu", settings.name);
        assertEquals(List.of("L2", "L3"), settings.tiers, "the default tiers");
        assertEquals(List.of("eu-west-1", "eu-central-1"), settings.regions);
        assertEquals(7, settings.ranking);
        assertEquals("secret", settings.kvMount);
        assertEquals("openkcm", settings.pathPrefix);
        assertTrue(settings.tlsVerify, "TLS verification is on by default");
        assertEquals(4, settings.retry.maxAttempts);
    }

    @Test
    void tiersMayBeOneCommaSeparatedValueAndL1IsRefused() throws Exception {
        Map<String, Object> props = valid();
        props.put("keystore.tiers", "L3, L4");
        assertEquals(List.of("L3", "L4"), OpenBaoSettings.from(TestConfig.of(props), ENV).tiers);

        props.put("keystore.tiers", "L1");
        assertTrue(refused(props).getMessage().contains("keystore.tiers"));
    }

    @Test
    void aTierInLowerCaseIsRefusedSinceTheServicePublishesItAsWritten() throws Exception {
        Map<String, Object> props = valid();
        props.put("keystore.tiers", "l3, L4");
        assertEquals("keystore.tiers: 'l3' is not a tier this keystore holds (L2, L3 or L4, in capitals; L1 never lives"
                + " here)", refused(props).getMessage());
    }

    @Test
    void aRankingThatIsNotAnIntegerIsWarnedAboutWithTheTypedForm() throws Exception {
        Map<String, Object> props = valid();
        props.put("keystore.name", "bao-eu");
        props.put("service.ranking", "10"); // a plain .cfg value
        OpenBaoSettings settings = OpenBaoSettings.from(TestConfig.of(props), ENV);

        assertEquals(10, settings.ranking);
        assertEquals(Optional.of("OpenBao keystore 'bao-eu': service.ranking '10' is a String, not an Integer, so the"
                + " framework and the router rank it 0; write service.ranking = I\"10\" in a .cfg file (typed values),"
                + " or set it in config.yaml"), settings.rankingWarning("10"));
        assertTrue(settings.rankingWarning(10L).orElseThrow().contains("is a Long, not an Integer"));
        assertEquals(Optional.empty(), settings.rankingWarning(10), "an Integer is ranked as it is");
        assertEquals(Optional.empty(), settings.rankingWarning(null), "no ranking: the component's default 0");
    }

    @ParameterizedTest
    @ValueSource(strings = {SECRET, "hvs.CAESIabc", "root", "ENV:BAO_TOKEN", "file:relative/path"})
    void aPlainSecretIsRefusedAndNotEchoed(String value) throws Exception {
        Map<String, Object> props = valid();
        props.put("token.source", value);

        IllegalArgumentException e = refused(props);

        assertTrue(e.getMessage().startsWith("token.source"), e.getMessage());
        if (!value.startsWith("file:")) {
            assertFalse(e.getMessage().contains(value), "the value must not be echoed: " + e.getMessage());
            assertTrue(e.getMessage().contains("env:NAME") && e.getMessage().contains("file:/"), e.getMessage());
        }
    }

    @Test
    void appRoleSecretsAreReferencesToo() throws Exception {
        Map<String, Object> props = valid();
        props.remove("token.source");
        props.put("auth.method", "approle");
        props.put("role.id.source", "env:BAO_TOKEN");
        props.put("secret.id.source", SECRET);

        IllegalArgumentException e = refused(props);

        assertTrue(e.getMessage().startsWith("secret.id.source"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET));
    }

    @Test
    void aReferenceThatResolvesToNothingIsRefused() throws Exception {
        Map<String, Object> props = valid();
        props.put("token.source", "env:NOT_SET_ANYWHERE");
        assertTrue(refused(props).getMessage().contains("NOT_SET_ANYWHERE is not set"));
        props.put("token.source", "env:EMPTY");
        assertTrue(refused(props).getMessage().contains("is empty"));
        props.put("token.source", "file:" + dir.resolve("missing"));
        assertTrue(refused(props).getMessage().contains("cannot read"));
    }

    @Test
    void anEnvironmentReferenceIsReadFromTheEnvironment() throws Exception {
        Map<String, Object> props = valid();
        props.put("token.source", "env:BAO_TOKEN");
        OpenBaoSettings settings = OpenBaoSettings.from(TestConfig.of(props), ENV);
        assertEquals("t0ken", settings.token.read());
        assertEquals("env:BAO_TOKEN", settings.token.toString(), "only the reference is ever shown");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://10.1.2.3:8200", "http://bao.example.net:8200", "http://192.168.0.1",
            "http://localhost:8200", "http://127.0.0.1.example.net:8200"})
    void plainHttpToARemoteHostIsRefusedUnlessAllowed(String address) throws Exception {
        Map<String, Object> props = valid();
        props.put("address", address);

        IllegalArgumentException e = refused(props);
        assertTrue(e.getMessage().contains("plain http://") && e.getMessage().contains("allow.insecure.http"),
                e.getMessage());

        props.put("allow.insecure.http", true);
        assertEquals(address, OpenBaoSettings.from(TestConfig.of(props), ENV).address);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:8200", "http://127.0.0.2:8200", "http://[::1]:8200", "https://10.1.2.3"})
    void loopbackHttpAndAnyHttpsAreAccepted(String address) throws Exception {
        Map<String, Object> props = valid();
        props.put("address", address);
        assertEquals(address, OpenBaoSettings.from(TestConfig.of(props), ENV).address);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not a url", "bao.example.net:8200", "ftp://bao.example.net", "https://",
            "https://user:pw@bao.example.net", "https://bao.example.net/v1/secret", "https://bao.example.net?x=1"})
    void aBadAddressIsRefused(String address) throws Exception {
        Map<String, Object> props = valid();
        props.put("address", address);
        assertTrue(refused(props).getMessage().startsWith("address"));
    }

    @Test
    void aTlsFileThatIsAFifoOrOversizedIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("ca.pem");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor(), "mkfifo");
        Map<String, Object> props = valid();
        props.put("tls.ca.file", fifo.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OpenBaoKeystore(OpenBaoSettings.from(TestConfig.of(props), ENV)));
        assertEquals("tls.ca.file: " + fifo + ": not a regular file (a FIFO, socket or device)", e.getMessage());

        Path big = Files.writeString(dir.resolve("big.pem"), "-".repeat(64 * 1024 + 1));
        props.put("tls.ca.file", big.toString());
        e = assertThrows(IllegalArgumentException.class,
                () -> new OpenBaoKeystore(OpenBaoSettings.from(TestConfig.of(props), ENV)));
        assertEquals("tls.ca.file: " + big + ": larger than 65536 bytes", e.getMessage());
        assertEquals(64 * 1024 + 1, Files.size(big), "left as it was");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../other", "a//b", "a b", "a/../b", ".hidden", "a\nb"})
    void pathsThatCouldEscapeAreRefused(String prefix) throws Exception {
        Map<String, Object> props = valid();
        props.put("path.prefix", prefix);
        assertTrue(refused(props).getMessage().startsWith("path.prefix"));
        props.put("path.prefix", "ok");
        props.put("kv.mount", prefix);
        assertTrue(refused(props).getMessage().startsWith("kv.mount"));
    }

    @Test
    void boundsOfTimeoutsAndRetriesAreChecked() throws Exception {
        Map<String, Object> props = valid();
        props.put("retry.max.attempts", 0);
        assertTrue(refused(props).getMessage().startsWith("retry.max.attempts"));
        props.put("retry.max.attempts", 3);
        props.put("retry.initial.backoff.ms", 500L);
        props.put("retry.max.backoff.ms", 100L);
        assertTrue(refused(props).getMessage().startsWith("retry.max.backoff.ms"));
        props.put("retry.max.backoff.ms", 1000L);
        props.put("health.timeout.ms", 6000L);
        assertTrue(refused(props).getMessage().startsWith("health.timeout.ms"), "health stays within 5 s");
    }

    @Test
    void tlsFilesMustExistAndNeedHttps() throws Exception {
        Map<String, Object> props = valid();
        props.put("tls.ca.file", dir.resolve("nope.pem").toString());
        assertTrue(refused(props).getMessage().startsWith("tls.ca.file"));

        Path ca = dir.resolve("ca.pem");
        Files.writeString(ca, "not a certificate");
        props.put("tls.ca.file", ca.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OpenBaoKeystore(OpenBaoSettings.from(TestConfig.of(props), ENV)));
        assertTrue(e.getMessage().contains("no PEM CERTIFICATE"), e.getMessage());

        props.put("tls.client.cert.file", ca.toString());
        assertTrue(refused(props).getMessage().contains("go together"));

        props.remove("tls.client.cert.file");
        props.put("address", "http://127.0.0.1:8200");
        assertTrue(refused(props).getMessage().contains("not https://"));
    }

    /** A PEM block that is not base64, or whose content is not what its type says, is refused by name. */
    @Test
    void aBrokenPemBlockIsRefusedWithTheFileNamed() throws Exception {
        Map<String, Object> props = valid();
        Path ca = dir.resolve("broken-ca.pem");
        props.put("tls.ca.file", ca.toString());

        Files.writeString(ca, "-----BEGIN CERTIFICATE-----\n%%%% not base64 %%%%\n-----END CERTIFICATE-----\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OpenBaoKeystore(OpenBaoSettings.from(TestConfig.of(props), ENV)));
        assertEquals("tls.ca.file: " + ca + " holds a PEM block that is not base64", e.getMessage());

        Files.writeString(ca, "-----BEGIN CERTIFICATE-----\nAQIDBA==\n-----END CERTIFICATE-----\n");
        e = assertThrows(IllegalArgumentException.class,
                () -> new OpenBaoKeystore(OpenBaoSettings.from(TestConfig.of(props), ENV)));
        assertTrue(e.getMessage().startsWith("tls.ca.file: " + ca + " holds a PEM block that cannot be read ("),
                e.getMessage());
    }

    @Test
    void switchingOffTlsVerificationNeedsASecondFlag() throws Exception {
        Map<String, Object> props = valid();
        props.put("tls.verify", false);

        IllegalArgumentException e = refused(props);
        assertTrue(e.getMessage().startsWith("tls.verify=false") && e.getMessage().contains("allow.unverified.tls=true"),
                e.getMessage());

        props.put("allow.unverified.tls", true);
        OpenBaoSettings settings = OpenBaoSettings.from(TestConfig.of(props), ENV);
        assertFalse(settings.tlsVerify);
        String warning = settings.unverifiedTlsWarning().orElseThrow();
        assertTrue(warning.contains("NOT verified") && warning.contains("https://bao.example.net:8200"), warning);
        assertFalse(warning.contains("a-token"), "the token is never logged");
    }

    @Test
    void withVerificationOnThereIsNothingToWarnAbout() throws Exception {
        Map<String, Object> props = valid();
        props.put("allow.unverified.tls", true);
        assertTrue(OpenBaoSettings.from(TestConfig.of(props), ENV).unverifiedTlsWarning().isEmpty());
    }

    @Test
    void namespaceModesAreChecked() throws Exception {
        Map<String, Object> props = valid();
        props.put("namespace.mode", "per-tenant");
        props.put("namespace.base", "/openkcm/");
        OpenBaoSettings settings = OpenBaoSettings.from(TestConfig.of(props), ENV);
        assertTrue(settings.perTenant);
        assertEquals("openkcm", settings.namespaceBase);
        assertEquals("openkcm", settings.namespaceServices, "services default to the base");
        props.put("namespace.services", "openkcm/services");
        assertEquals("openkcm/services", OpenBaoSettings.from(TestConfig.of(props), ENV).namespaceServices);

        props.remove("namespace.base");
        assertTrue(refused(props).getMessage().startsWith("namespace.base is required with namespace.mode=per-tenant"));
        props.put("namespace.base", "openkcm/../x");
        assertTrue(refused(props).getMessage().startsWith("namespace.base must be segments"));
        props.put("namespace.base", "openkcm");
        props.put("namespace", "team-a");
        assertTrue(refused(props).getMessage().contains("must be namespace 'team-a' or inside it"));
        props.put("namespace.base", "team-a/tenants");
        props.put("namespace.services", "team-b");
        assertTrue(refused(props).getMessage().startsWith("namespace.services 'team-b' must be namespace 'team-a'"));
        props.put("namespace.services", "team-a");
        assertEquals("team-a/tenants", OpenBaoSettings.from(TestConfig.of(props), ENV).namespaceBase);

        props.put("namespace.mode", "per-service");
        assertEquals("namespace.mode must be single or per-tenant, not 'per-service'", refused(props).getMessage());
        props.put("namespace.mode", "single");
        assertTrue(refused(props).getMessage().startsWith("namespace.base must not be set with namespace.mode=single"));
        props.remove("namespace.base");
        props.remove("namespace.services");
        OpenBaoSettings single = OpenBaoSettings.from(TestConfig.of(props), ENV);
        assertFalse(single.perTenant);
        assertEquals("team-a", single.namespaceServices);
    }
}
