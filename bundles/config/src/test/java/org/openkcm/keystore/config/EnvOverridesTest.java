package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class EnvOverridesTest {

    private static final String ROUTE = "org.openkcm.keystore.route";
    private static final String MEMORY = "org.openkcm.keystore.memory";

    /** The defaults of this bundle's configuration. */
    static final EnvOverrides.Mapping DEFAULTS = new EnvOverrides.Mapping("OPENKCM_",
            EnvOverrides.aliases(List.of("MEMORY=" + MEMORY, "OPENBAO=org.openkcm.keystore.openbao", "ROUTE=" + ROUTE)),
            EnvOverrides.knownProperties(List.of(
                    MEMORY + "=keystore.name,keystore.tiers,keystore.regions,service.ranking,maxEntries",
                    "org.openkcm.keystore.openbao=keystore.name,keystore.tiers,keystore.regions,service.ranking",
                    ROUTE + "=tiers,ownerKind,ownerId,ownerIdPrefix,region,priority,target")));

    private static final String YAML = """
            org.openkcm.keystore.memory:
              default: {keystore.name: memory, keystore.tiers: [L4]}
            org.openkcm.keystore.route:
              l2-l3-to-openbao: {tiers: [L2, L3], target: openbao}
            org.openkcm.keystore.openbao:
              main: {address: "https://bao:8200", token: "$[env:BAO_TOKEN]"}
            org.openkcm.keystore.core:
              cache.size: 1000
            """;

    private static Map<ConfigKey, Map<String, Object>> map(Map<String, String> env) throws ConfigException {
        return EnvOverrides.map(env, DEFAULTS, YamlReader.parse(YAML, "config.yaml"));
    }

    private static ConfigException refused(Map<String, String> env) {
        return assertThrows(ConfigException.class, () -> map(env));
    }

    @Test
    void mapsAliasInstanceAndPropertyByCanonicalName() throws ConfigException {
        Map<ConfigKey, Map<String, Object>> o = map(Map.of(
                "OPENKCM__MEMORY__DEFAULT__KEYSTORE_TIERS", "[L3, L4]",
                "OPENKCM__ROUTE__L2_L3_TO_OPENBAO__PRIORITY", "5",
                "OPENKCM__ROUTE__EU_TENANTS__OWNER_ID_PREFIX", "eu-",
                "OPENKCM__ROUTE__EU_TENANTS__TARGET", "openbao",
                "OPENKCM__OPENBAO__MAIN__ADDRESS", "https://bao.eu:8200",
                "OPENKCM__ORG_OPENKCM_KEYSTORE_CORE__CACHE_SIZE", "2000"));

        assertArrayEquals(new String[] {"L3", "L4"},
                (String[]) o.get(ConfigKey.factory(MEMORY, "default")).get("keystore.tiers"));
        assertEquals(Map.of("priority", 5), o.get(ConfigKey.factory(ROUTE, "l2-l3-to-openbao")),
                "L2_L3_TO_OPENBAO is config.yaml's instance l2-l3-to-openbao");
        assertEquals(Map.of("ownerIdPrefix", "eu-", "target", "openbao"), o.get(ConfigKey.factory(ROUTE, "eu-tenants")),
                "an instance config.yaml does not have is named by the segment in lower case, '_' as '-'");
        assertEquals(Map.of("address", "https://bao.eu:8200"),
                o.get(ConfigKey.factory("org.openkcm.keystore.openbao", "main")),
                "a property config.yaml gives is known without being listed");
        assertEquals(Map.of("cache.size", 2000), o.get(ConfigKey.singleton("org.openkcm.keystore.core")),
                "a PID of config.yaml, in upper case with '_' for '.', needs no alias");
        assertEquals(5, o.size());
    }

    @Test
    void ignoresVariablesThatAreNotOverrides() throws ConfigException {
        assertTrue(map(Map.of("OPENKCM_HOME", "/opt/openkcm", "OPENKCM_SECRET_BAO_TOKEN", "s.secret", "PATH", "/bin",
                "XOPENKCM__ROUTE__A__TARGET", "x")).isEmpty());
    }

    @Test
    void honoursAnotherPrefix() throws ConfigException {
        EnvOverrides.Mapping kms = new EnvOverrides.Mapping("KMS", DEFAULTS.aliases(), DEFAULTS.knownProperties());
        Map<ConfigKey, Map<String, Object>> o = EnvOverrides.map(
                Map.of("KMS_ROUTE__L4__TARGET", "memory", "OPENKCM__ROUTE__L4__TARGET", "openbao"), kms, Map.of());
        assertEquals(Map.of(ConfigKey.factory(ROUTE, "l4"), Map.of("target", "memory")), o);
    }

    @Test
    void refusesWhatItCannotMapUnambiguously() {
        ConfigException unknownConfig = refused(Map.of("OPENKCM__CACHE__SIZE", "1"));
        assertEquals("environment", unknownConfig.source());
        assertEquals("OPENKCM__CACHE__SIZE", unknownConfig.keyPath());
        assertTrue(unknownConfig.rule().startsWith("unknown configuration 'CACHE'"), unknownConfig.rule());

        ConfigException unknownProperty = refused(Map.of("OPENKCM__ROUTE__L4__TARGETS", "x"));
        assertTrue(unknownProperty.rule().startsWith("unknown property 'TARGETS' of " + ROUTE
                + ": the known ones are ownerId, ownerIdPrefix, ownerKind, priority, region, target, tiers"), unknownProperty.rule());

        assertTrue(refused(Map.of("OPENKCM__ROUTE", "x")).rule().startsWith("expected OPENKCM__<CONFIG>__<PROPERTY>"));
        assertTrue(refused(Map.of("OPENKCM__ROUTE__A__B__C", "x")).rule().startsWith("expected"));
        assertTrue(refused(Map.of("OPENKCM__ROUTE____TARGET", "x")).rule().startsWith("expected"));
        assertTrue(refused(Map.of("OPENKCM__ROUTE__TARGET", "x")).rule().contains("is a factory PID in config.yaml"));
        assertTrue(refused(Map.of("OPENKCM__ORG_OPENKCM_KEYSTORE_CORE__X__CACHE_SIZE", "1")).rule()
                .contains("is a singleton configuration in config.yaml"));
        assertTrue(refused(Map.of("OPENKCM__OPENBAO__MAIN__SERVICE_PID", "x")).rule().startsWith("unknown property"),
                "service.pid is never a known property");
    }

    @Test
    void refusesTwoVariablesForOneProperty() {
        ConfigException e = refused(Map.of(
                "OPENKCM__ROUTE__L2_L3_TO_OPENBAO__TARGET", "memory",
                "OPENKCM__ORG_OPENKCM_KEYSTORE_ROUTE__L2_L3_TO_OPENBAO__TARGET", "openbao"));
        assertTrue(e.rule().contains(ROUTE + "/l2-l3-to-openbao/target"), e.rule());
    }

    @Test
    void refusesAPropertySegmentThatMatchesTwoNames() throws ConfigException {
        Map<ConfigKey, Map<String, Object>> yaml = YamlReader.parse("p: {owner.id: a, ownerId: b}\n", "config.yaml");
        ConfigException e = assertThrows(ConfigException.class,
                () -> EnvOverrides.map(Map.of("OPENKCM__P__OWNER_ID", "c"), DEFAULTS, yaml));
        assertTrue(e.rule().contains("more than one property"), e.rule());
    }

    @Test
    void readsValuesAsYamlAndRefusesLiteralSecrets() throws ConfigException {
        Map<ConfigKey, Map<String, Object>> o = map(Map.of("OPENKCM__OPENBAO__MAIN__TOKEN", "$[secret:bao-token]"));
        assertEquals("$[secret:bao-token]", o.get(ConfigKey.factory("org.openkcm.keystore.openbao", "main")).get("token"));

        ConfigException e = refused(Map.of("OPENKCM__OPENBAO__MAIN__TOKEN", "s.VeryS3cretValue"));
        assertEquals("OPENKCM__OPENBAO__MAIN__TOKEN", e.keyPath());
        assertEquals(Names.SECRET_RULE, e.rule());
        assertFalse(e.getMessage().contains("VeryS3cret"), e.getMessage());

        ConfigException wrongType = refused(Map.of("OPENKCM__ROUTE__L4__TIERS", "{a: b}"));
        assertTrue(wrongType.rule().contains("not a mapping"), wrongType.rule());
    }

    @Test
    void refusesABadAliasTable() {
        assertThrows(IllegalArgumentException.class, () -> EnvOverrides.aliases(List.of("ROUTE")));
        assertThrows(IllegalArgumentException.class, () -> EnvOverrides.aliases(List.of("RO__UTE=a.b")));
        assertThrows(IllegalArgumentException.class, () -> EnvOverrides.aliases(List.of("A=x", "a=y")));
        assertThrows(IllegalArgumentException.class, () -> EnvOverrides.knownProperties(List.of("p=a b")));
        assertEquals(Map.of("p", Set.of("a", "b")), EnvOverrides.knownProperties(List.of("p=a, b,")));
    }

    @Test
    void canonicalNames() {
        assertEquals("OWNER_ID_PREFIX", Names.canonical("ownerIdPrefix"));
        assertEquals("KEYSTORE_TIERS", Names.canonical("keystore.tiers"));
        assertEquals("L2_L3_TO_OPENBAO", Names.canonical("l2-l3-to-openbao"));
        assertEquals("ORG_OPENKCM_KEYSTORE_ROUTE", Names.canonical("org.openkcm.keystore.route"));
        assertEquals("MAX_ENTRIES", Names.canonical("maxEntries"));
        assertEquals("SERVICE_RANKING", Names.canonical("SERVICE_RANKING"));
        assertTrue(Names.isSecretName("token"));
        assertTrue(Names.isSecretName("approle.secret_id"));
        assertTrue(Names.isSecretName("roleSecretId"));
        assertTrue(Names.isSecretName("db.password"));
        assertFalse(Names.isSecretName("token.ttl"));
        assertFalse(Names.isSecretName("tokenFile"));
        assertFalse(Names.isSecretName("keystore.name"));
    }
}
