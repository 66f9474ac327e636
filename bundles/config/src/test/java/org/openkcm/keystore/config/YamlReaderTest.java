package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class YamlReaderTest {

    private static final String FILE = "/etc/openkcm/config.yaml";

    private static Map<ConfigKey, Map<String, Object>> parse(String yaml) throws ConfigException {
        return YamlReader.parse(yaml, FILE);
    }

    private static ConfigException refused(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml));
    }

    @Test
    void readsSingletonAndFactoryConfigurations() throws ConfigException {
        Map<ConfigKey, Map<String, Object>> c = parse("""
                org.openkcm.keystore.memory:        # factory PID
                  default:
                    keystore.name: memory
                    keystore.tiers: [L4]
                org.openkcm.keystore.route:
                  l2-l3-to-openbao: {tiers: [L2, L3], target: openbao, priority: 10}
                org.openkcm.keystore.openbao:
                  main: {address: "https://bao:8200", token: "$[env:BAO_TOKEN]"}
                org.openkcm.keystore.core:
                  cache.size: 1000
                org.openkcm.keystore.empty:
                """);
        assertEquals(List.of(ConfigKey.factory("org.openkcm.keystore.memory", "default"),
                ConfigKey.factory("org.openkcm.keystore.route", "l2-l3-to-openbao"),
                ConfigKey.factory("org.openkcm.keystore.openbao", "main"),
                ConfigKey.singleton("org.openkcm.keystore.core"),
                ConfigKey.singleton("org.openkcm.keystore.empty")), List.copyOf(c.keySet()));

        Map<String, Object> memory = c.get(ConfigKey.factory("org.openkcm.keystore.memory", "default"));
        assertEquals("memory", memory.get("keystore.name"));
        assertArrayEquals(new String[] {"L4"}, (String[]) memory.get("keystore.tiers"));
        Map<String, Object> route = c.get(ConfigKey.factory("org.openkcm.keystore.route", "l2-l3-to-openbao"));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) route.get("tiers"));
        assertEquals(10, route.get("priority"));
        assertEquals("$[env:BAO_TOKEN]", c.get(ConfigKey.factory("org.openkcm.keystore.openbao", "main")).get("token"),
                "a reference is passed through unchanged, for the interpolation plugin");
        assertEquals(1000, c.get(ConfigKey.singleton("org.openkcm.keystore.core")).get("cache.size"));
        assertEquals(Map.of(), c.get(ConfigKey.singleton("org.openkcm.keystore.empty")));
        assertEquals("org.openkcm.keystore.route~l2-l3-to-openbao",
                ConfigKey.factory("org.openkcm.keystore.route", "l2-l3-to-openbao").servicePid());
    }

    @Test
    void scalarsFollowStrictRules() throws ConfigException {
        Map<String, Object> p = parse("""
                p:
                  bool: true
                  upper: FALSE
                  yes: yes
                  off: off
                  octal: 010
                  int: -42
                  big: 3000000000
                  double: 1.5
                  exp: 2e3
                  date: 2024-01-01
                  quoted: "10"
                  text: https://bao:8200
                  longs: [1, 3000000000]
                  empty: []
                  bools: [true, false]
                  doubles: [0.5, 1.5]
                """).get(ConfigKey.singleton("p"));
        assertEquals(Boolean.TRUE, p.get("bool"));
        assertEquals(Boolean.FALSE, p.get("upper"));
        assertEquals("yes", p.get("yes"), "no YAML 1.1 yes/no booleans");
        assertEquals("off", p.get("off"));
        assertEquals("010", p.get("octal"), "no octal");
        assertEquals(Integer.valueOf(-42), p.get("int"));
        assertEquals(Long.valueOf(3_000_000_000L), p.get("big"));
        assertEquals(1.5, p.get("double"));
        assertEquals(2000.0, p.get("exp"));
        assertEquals("2024-01-01", p.get("date"), "no timestamps");
        assertEquals("10", p.get("quoted"));
        assertEquals("https://bao:8200", p.get("text"));
        assertArrayEquals(new Long[] {1L, 3_000_000_000L}, (Long[]) p.get("longs"));
        assertArrayEquals(new String[0], (String[]) p.get("empty"));
        assertArrayEquals(new Boolean[] {true, false}, (Boolean[]) p.get("bools"));
        assertArrayEquals(new Double[] {0.5, 1.5}, (Double[]) p.get("doubles"));
    }

    @Test
    void emptyDocumentsDeclareNothing() throws ConfigException {
        assertTrue(parse("").isEmpty());
        assertTrue(parse("# only a comment\n").isEmpty());
        assertTrue(parse("---\n").isEmpty());
    }

    @Test
    void aSyntaxErrorNamesFileAndLine() {
        ConfigException e = refused("""
                org.openkcm.keystore.route:
                  l4:
                    tiers: [L4
                    target: memory
                """);
        assertEquals(FILE, e.source());
        assertTrue(e.line() >= 3, "line " + e.line());
        assertTrue(e.getMessage().startsWith(FILE + ":" + e.line() + ": not valid YAML"), e.getMessage());
    }

    @Test
    void aWrongTypeNamesKeyPathAndLine() {
        ConfigException e = refused("""
                org.openkcm.keystore.route:
                  l4:
                    tiers:
                      first: L4
                """);
        assertEquals("org.openkcm.keystore.route/l4/tiers", e.keyPath());
        assertEquals(4, e.line());
        assertTrue(e.rule().contains("not a mapping"), e.rule());
        assertEquals(FILE + ":4: org.openkcm.keystore.route/l4/tiers: " + e.rule(), e.getMessage());
    }

    @Test
    void refusesShapesOutsideTheModel() {
        assertTrue(refused("- a\n- b\n").rule().startsWith("the top level must be a mapping"));
        assertTrue(refused("just a string\n").rule().startsWith("the top level must be a mapping"));
        ConfigException mixed = refused("""
                org.openkcm.keystore.route:
                  l4: {tiers: [L4]}
                  target: memory
                """);
        assertEquals("org.openkcm.keystore.route/target", mixed.keyPath());
        assertEquals(3, mixed.line());
        assertTrue(mixed.rule().startsWith("mixes named instances"), mixed.rule());
        assertTrue(refused("p: [a, b]\n").rule().startsWith("a PID maps to properties"));
        assertTrue(refused("p: text\n").rule().startsWith("a PID maps to properties"));
    }

    @Test
    void refusesValuesOutsideTheModel() {
        assertEquals("p/x", refused("p: {x: null}\n").keyPath());
        assertTrue(refused("p: {x: ~}\n").rule().startsWith("a value is required"));
        assertEquals("p/x[1]", refused("p: {x: [a, [b]]}\n").keyPath());
        assertTrue(refused("p: {x: [a, 1]}\n").rule().startsWith("a list's items must all be of one type"));
        assertTrue(refused("p: {x: [1, 1.5]}\n").rule().startsWith("a list's items must all be of one type"));
        assertTrue(refused("p: {x: 99999999999999999999}\n").rule().startsWith("integer out of range"));
        assertTrue(refused("p: {x: !!binary aGVsbG8=}\n").rule().startsWith("unsupported YAML tag"));
        assertTrue(refused("p: {x: !!int abc}\n").rule().startsWith("not a decimal integer"));
        assertTrue(refused("p: {x: !!java.io.File /tmp}\n").getMessage().contains("not valid YAML"),
                "a global tag never constructs anything");
        assertTrue(refused("p: {x: 1}\n---\nq: {y: 2}\n").getMessage().contains("not valid YAML"),
                "one document only");
    }

    @Test
    void refusesBadAndReservedNames() {
        assertEquals(Names.PID_RULE, refused("\"bad pid\": {x: 1}\n").rule());
        assertEquals(Names.PID_RULE, refused("a..b: {x: 1}\n").rule());
        assertEquals(Names.INSTANCE_RULE, refused("p: {\"-x\": {a: 1}}\n").rule());
        assertEquals(Names.INSTANCE_RULE, refused("p: {\"x~y\": {a: 1}}\n").rule());
        assertEquals(Names.PROPERTY_RULE, refused("p: {\"a b\": 1}\n").rule());
        assertTrue(refused("p: {service.pid: x}\n").rule().startsWith("reserved"));
        assertTrue(refused("p: {felix.fileinstall.filename: x}\n").rule().startsWith("reserved"));
        assertTrue(refused("p: {.openkcm.config.source: yaml}\n").getMessage().contains("reserved"));
        assertTrue(refused("org.openkcm.keystore.config: {yaml.path: x}\n").rule().contains("own configuration"));
        assertEquals("duplicate key", refused("p: {a: 1}\np: {b: 2}\n").rule());
        assertEquals("duplicate key", refused("p: {a: 1, a: 2}\n").rule());
        assertTrue(refused("p: {target: a, Target: b}\n").rule().contains("ignore case"));
        assertTrue(refused("p: {<<: {a: 1}}\n").getMessage().contains("p/<<"), "no merge keys");
    }

    @Test
    void refusesLiteralSecretsWithoutPrintingThem() throws ConfigException {
        ConfigException e = refused("""
                org.openkcm.keystore.openbao:
                  main:
                    address: https://bao:8200
                    token: s.VeryS3cretValue
                """);
        assertEquals("org.openkcm.keystore.openbao/main/token", e.keyPath());
        assertEquals(4, e.line());
        assertEquals(Names.SECRET_RULE, e.rule());
        assertFalse(e.getMessage().contains("VeryS3cret"), e.getMessage());

        assertEquals(Names.SECRET_RULE, refused("p: {approle.secret_id: abc}\n").rule());
        assertEquals(Names.SECRET_RULE, refused("p: {roleSecretId: abc}\n").rule());
        assertEquals(Names.SECRET_RULE, refused("p: {password: 1234}\n").rule());
        assertEquals(Names.SECRET_RULE, refused("p: {token: \"$[env:A] and more\"}\n").rule());

        Map<String, Object> ok = parse("""
                p:
                  token: $[env:BAO_TOKEN]
                  approle.secret_id: "$[secret:bao-secret-id]"
                  token.ttl: 3600
                  tokenFile: /run/secrets/bao
                """).get(ConfigKey.singleton("p"));
        assertEquals("$[env:BAO_TOKEN]", ok.get("token"));
        assertEquals("$[secret:bao-secret-id]", ok.get("approle.secret_id"));
        assertEquals(3600, ok.get("token.ttl"));
    }

    @Test
    void aSyntaxErrorNeverQuotesTheDocument() {
        ConfigException e = refused("p:\n  token: s.VeryS3cretValue\n  bad: [unclosed\n");
        assertFalse(e.getMessage().contains("VeryS3cret"), e.getMessage());
    }

    @Test
    void aBillionLaughsDocumentIsRefused() {
        StringBuilder yaml = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        char previous = 'a';
        for (char c = 'b'; c <= 'i'; c++) {
            yaml.append(c).append(": &").append(c).append(" [");
            for (int i = 0; i < 9; i++) {
                yaml.append(i == 0 ? "" : ",").append('*').append(previous);
            }
            yaml.append("]\n");
            previous = c;
        }
        ConfigException e = refused(yaml.toString());
        assertTrue(e.getMessage().startsWith(FILE + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("not valid YAML"), e.getMessage());
    }

    @Test
    void readsOneValueLikeAProperty() throws ConfigException {
        assertEquals("L4", YamlReader.parseValue("L4", "environment", "V"));
        assertArrayEquals(new String[] {"L2", "L3"}, (String[]) YamlReader.parseValue("[L2, L3]", "environment", "V"));
        assertEquals(10, YamlReader.parseValue("10", "environment", "V"));
        assertEquals("10", YamlReader.parseValue("\"10\"", "environment", "V"));
        assertEquals("L2,L3", YamlReader.parseValue("L2,L3", "environment", "V"));
        ConfigException e = assertThrows(ConfigException.class, () -> YamlReader.parseValue("a: b", "environment", "V"));
        assertEquals("environment: V: a property's value is a scalar or a list of scalars, not a mapping", e.getMessage());
        assertThrows(ConfigException.class, () -> YamlReader.parseValue("", "environment", "V"));
    }
}
