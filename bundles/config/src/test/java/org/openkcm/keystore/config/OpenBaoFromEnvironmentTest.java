package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/**
 * An OpenBao backend instance configured from {@code OPENKCM__…} variables alone (the container
 * way): no config.yaml entry, no .cfg, with this bundle's own default mapping (read from its
 * metatype defaults, not copied).
 */
class OpenBaoFromEnvironmentTest {
    private static final String OPENBAO = "org.openkcm.keystore.openbao";

    private static EnvOverrides.Mapping defaults() throws Exception {
        String prefix = (String) ConfigYaml.Config.class.getMethod("env_prefix").getDefaultValue();
        String[] aliases = (String[]) ConfigYaml.Config.class.getMethod("env_aliases").getDefaultValue();
        String[] known = (String[]) ConfigYaml.Config.class.getMethod("env_properties").getDefaultValue();
        return new EnvOverrides.Mapping(prefix, EnvOverrides.aliases(List.of(aliases)),
                EnvOverrides.knownProperties(List.of(known)));
    }

    /** The README's copy-paste example. */
    static final Map<String, String> ENVIRONMENT = Map.ofEntries(
            Map.entry("OPENKCM__OPENBAO__MAIN__ADDRESS", "https://bao.example.net:8200"),
            Map.entry("OPENKCM__OPENBAO__MAIN__KEYSTORE_NAME", "openbao"),
            Map.entry("OPENKCM__OPENBAO__MAIN__KEYSTORE_TIERS", "[L2, L3]"),
            Map.entry("OPENKCM__OPENBAO__MAIN__KV_MOUNT", "secret"),
            Map.entry("OPENKCM__OPENBAO__MAIN__PATH_PREFIX", "openkcm/eu"),
            Map.entry("OPENKCM__OPENBAO__MAIN__AUTH_METHOD", "approle"),
            Map.entry("OPENKCM__OPENBAO__MAIN__ROLE_ID_SOURCE", "file:/run/secrets/bao-role-id"),
            Map.entry("OPENKCM__OPENBAO__MAIN__SECRET_ID_SOURCE", "env:OPENKCM_BAO_SECRET_ID"),
            Map.entry("OPENKCM__OPENBAO__MAIN__TLS_CA_FILE", "/run/secrets/bao-ca.pem"),
            Map.entry("OPENKCM__OPENBAO__MAIN__NAMESPACE_MODE", "per-tenant"),
            Map.entry("OPENKCM__OPENBAO__MAIN__NAMESPACE_BASE", "openkcm"),
            Map.entry("OPENKCM__OPENBAO__MAIN__NAMESPACE_SERVICES", "openkcm/services"),
            Map.entry("OPENKCM__OPENBAO__MAIN__RETRY_MAX_ATTEMPTS", "5"),
            Map.entry("OPENKCM__OPENBAO__MAIN__SERVICE_RANKING", "10"),
            Map.entry("OPENKCM_BAO_SECRET_ID", "not-an-override"));

    @Test
    void aFactoryInstanceComesFromVariablesAlone() throws Exception {
        Map<ConfigKey, Map<String, Object>> env = EnvOverrides.map(ENVIRONMENT, defaults(), Map.of());
        Map<ConfigKey, Desired> desired = Desired.merge(Map.of(), env);

        ConfigKey main = ConfigKey.factory(OPENBAO, "main");
        assertEquals(List.of(main), List.copyOf(desired.keySet()), "one new instance 'main' of the factory PID");
        Map<String, Object> p = new TreeMap<>(desired.get(main).properties());
        assertEquals("https://bao.example.net:8200", p.get("address"));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) p.get("keystore.tiers"));
        assertEquals("openkcm/eu", p.get("path.prefix"));
        assertEquals("approle", p.get("auth.method"));
        assertEquals("env:OPENKCM_BAO_SECRET_ID", p.get("secret.id.source"), "a reference, never the secret");
        assertEquals("per-tenant", p.get("namespace.mode"));
        assertEquals("openkcm/services", p.get("namespace.services"));
        assertEquals(5, p.get("retry.max.attempts"));
        assertEquals(10, p.get("service.ranking"));
        assertEquals(14, p.size());
    }

    @Test
    void everyAttributeOfTheBackendIsKnown() throws Exception {
        // The attribute names of the backend's metatype (its Config annotation, as .cfg files spell them).
        List<String> attributes = List.of("address", "failover.addresses", "kv.mount", "path.prefix", "namespace",
                "namespace.mode", "namespace.base", "namespace.services", "connect.timeout.seconds",
                "read.timeout.seconds", "retry.max.attempts", "retry.initial.backoff.ms", "retry.max.backoff.ms",
                "health.timeout.ms", "keystore.name", "keystore.tiers", "keystore.regions", "service.ranking",
                "auth.method", "token.source", "approle.mount", "role.id.source", "secret.id.source", "tls.verify",
                "tls.ca.file", "tls.client.cert.file", "tls.client.key.file", "allow.insecure.http",
                "allow.unverified.tls");
        assertEquals(new java.util.TreeSet<>(attributes), defaults().knownProperties().get(OPENBAO));
        for (String attribute : attributes) {
            String variable = "OPENKCM__OPENBAO__X__" + Names.canonical(attribute);
            Map<ConfigKey, Map<String, Object>> env = EnvOverrides.map(Map.of(variable, "v"), defaults(), Map.of());
            assertEquals(Map.of(attribute, "v"), env.get(ConfigKey.factory(OPENBAO, "x")), variable);
        }
    }

    @Test
    void anUnknownPropertyIsRefusedByNameAndNothingIsMapped() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> EnvOverrides.map(
                Map.of("OPENKCM__OPENBAO__MAIN__ADDRESS", "https://bao:8200", "OPENKCM__OPENBAO__MAIN__ADRESS", "x"),
                defaults(), Map.of()));
        assertEquals("OPENKCM__OPENBAO__MAIN__ADRESS", e.keyPath());
        assertTrue(e.rule().startsWith("unknown property 'ADRESS' of " + OPENBAO), e.rule());
    }

    @Test
    void theConfigYamlExampleDeclaresAWholeOpenBaoInstance() throws Exception {
        String text = java.nio.file.Files.readString(java.nio.file.Paths.get("../../config/examples/config.yaml"));
        Map<ConfigKey, Map<String, Object>> yaml = YamlReader.parse(text, "config/examples/config.yaml");
        Map<String, Object> tenants = yaml.get(ConfigKey.factory(OPENBAO, "tenants"));
        assertEquals("per-tenant", tenants.get("namespace.mode"));
        assertEquals("env:OPENKCM_SECRET_BAO_TOKEN", tenants.get("token.source"));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) tenants.get("keystore.tiers"));
        assertTrue(defaults().knownProperties().get(OPENBAO).containsAll(tenants.keySet()),
                "every property of the example is a backend attribute: " + tenants.keySet());
        assertEquals("openbao", yaml.get(ConfigKey.factory("org.openkcm.keystore.route", "l2-l3-to-openbao"))
                .get("target"));
    }
}
