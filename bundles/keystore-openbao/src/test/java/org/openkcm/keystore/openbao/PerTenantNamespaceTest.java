package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.keystore.sdk.SampleKeys.minimal;
import static org.openkcm.keystore.sdk.SampleKeys.sealed;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KeyExistsException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyPage;
import org.openkcm.keystore.api.KeyStatus;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.StoredKey;

import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * {@code namespace.mode = per-tenant} on a real dev server: where records go (read back with
 * the {@code bao} CLI), namespaces and mounts created on first use, listing across tenants, and
 * what OpenBao's policies make of it: a token confined to one tenant's namespace works there, is
 * refused for another tenant's keys, and its refusals change nothing; a token that may not
 * create namespaces or mounts is refused with the namespace and the missing capability named.
 */
class PerTenantNamespaceTest {
    private static OpenBaoDevServer server;

    @BeforeAll
    static void startServer() {
        server = OpenBaoDevServer.dev();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    private static Map<String, Object> perTenant(String prefix, String base, String services) {
        Map<String, Object> props = TestConfig.forServer(server, prefix);
        props.put("namespace.mode", "per-tenant");
        props.put("namespace.base", base);
        if (services != null) {
            props.put("namespace.services", services);
        }
        return props;
    }

    private static KeyMetadata key(String name, Owner owner) {
        return minimal(KeyId.of(name, 1)).owner(owner).build();
    }

    private static void store(OpenBaoKeystore keystore, KeyMetadata metadata) {
        keystore.storeKey(metadata.id(), sealed(metadata.id().name().length()), metadata);
    }

    /** The child namespaces of a namespace, as {@code bao namespace list} shows them ("acme/"). */
    private static Set<String> children(String namespace) {
        OpenBaoDevServer.CliResult r = server.cliResult("namespace", "list", "-namespace=" + namespace, "-format=json");
        Set<String> names = new TreeSet<>();
        if (r.exit == 0) {
            Json.parse(r.out).asArray().forEach(v -> names.add(v.asString()));
        }
        return names;
    }

    /** Whether {@code bao kv get} finds a record in a namespace. */
    private static boolean recordIn(String namespace, String path) {
        return server.cliResult("kv", "get", "-namespace=" + namespace, "-mount=secret", path).exit == 0;
    }

    @Test
    void eachTenantsKeysGoToItsOwnNamespaceCreatedOnFirstUse() {
        assertTrue(children("").stream().noneMatch(n -> n.startsWith("first")), "no namespace yet: " + children(""));
        try (OpenBaoKeystore keystore = TestConfig.open(perTenant("p", "first/tenants", "first-services"))) {
            KeyMetadata acme = key("acme-kek", Owner.tenant("acme"));
            KeyMetadata globex = key("globex-kek", Owner.tenant("globex"));
            KeyMetadata service = key("billing-kek", Owner.service("billing"));
            KeyMetadata node = key("node-key", Owner.node("n7"));
            for (KeyMetadata m : List.of(acme, globex, service, node)) {
                store(keystore, m);
            }

            // Created on first use: the base with its parent, one namespace per tenant, the services one.
            assertEquals(Set.of("tenants/"), children("first"));
            assertEquals(Set.of("acme/", "globex/"), children("first/tenants"));
            assertTrue(children("").contains("first-services/"), children("").toString());
            JsonObject mount = Json.parse(server.cli("secrets", "list", "-namespace=first/tenants/acme",
                    "-format=json")).asObject().get("secret/").asObject();
            assertEquals("kv", mount.getString("type", null));
            assertEquals("2", mount.get("options").asObject().getString("version", null), "its own KV v2 mount");

            // Each record in its namespace only; the index (no material) in the services namespace.
            assertTrue(recordIn("first/tenants/acme", "p/L3/tenant/acme/acme-kek/1"));
            assertFalse(recordIn("first/tenants/globex", "p/L3/tenant/acme/acme-kek/1"));
            assertFalse(recordIn("first-services", "p/L3/tenant/acme/acme-kek/1"));
            assertTrue(recordIn("first/tenants/globex", "p/L3/tenant/globex/globex-kek/1"));
            assertTrue(recordIn("first-services", "p/L3/service/billing/billing-kek/1"));
            assertTrue(recordIn("first-services", "p/L3/node/n7/node-key/1"));
            assertTrue(recordIn("first-services", "p/index/acme-kek+000000001"));
            assertFalse(recordIn("first/tenants/acme", "p/index/acme-kek+000000001"));
            JsonObject entry = Json.parse(server.cli("kv", "get", "-namespace=first-services", "-mount=secret",
                    "-format=json", "p/index/acme-kek+000000001")).asObject().get("data").asObject().get("data")
                    .asObject();
            assertFalse(entry.names().contains("sealed"), "the index holds no sealed record: " + entry);

            // Found by id alone, changed and deleted in place.
            assertEquals(StoredKey.of(sealed(8), acme), keystore.retrieveKey(acme.id()));
            KeyMetadata next = acme.toBuilder().status(KeyStatus.DEPRECATED).revision(acme.revision() + 1).build();
            assertEquals(next, keystore.updateKeyMetadata(acme.id(), next));
            keystore.rewrapKey(acme.id(), sealed(99), next.revision());
            assertEquals(StoredKey.of(sealed(99), next), keystore.retrieveKey(acme.id()));
            assertTrue(keystore.deleteKey(acme.id()));
            assertFalse(recordIn("first/tenants/acme", "p/L3/tenant/acme/acme-kek/1"));
            assertFalse(recordIn("first-services", "p/index/acme-kek+000000001"));
            assertThrows(KeyNotFoundException.class, () -> keystore.retrieveKey(acme.id()));

            // An id is unique across tenants: the same id for another tenant is refused.
            assertThrows(KeyExistsException.class,
                    () -> store(keystore, key("globex-kek", Owner.tenant("acme"))));
            assertFalse(recordIn("first/tenants/acme", "p/L3/tenant/acme/globex-kek/1"));
        }
    }

    @Test
    void listingAcrossTenantsKeepsOrderFiltersAndCursor() {
        List<KeyMetadata> all = new ArrayList<>();
        try (OpenBaoKeystore keystore = TestConfig.open(perTenant("list", "lt", null))) {
            String[] tenants = {"acme", "globex", "initech"};
            for (int i = 0; i < 12; i++) {
                Owner owner = i % 4 == 3 ? Owner.service("svc") : Owner.tenant(tenants[i % 3]);
                KeyMetadata m = key(String.format("k%02d-%s", 11 - i, owner.id()), owner);
                store(keystore, m);
                all.add(m);
            }
            all.sort(Comparator.comparing(KeyMetadata::id));
            assertEquals(Set.of("acme/", "globex/", "initech/"), children("lt"), "one namespace per tenant");

            List<KeyMetadata> walked = new ArrayList<>();
            KeyFilter filter = KeyFilter.builder().pageSize(5).build();
            KeyPage page;
            do {
                page = keystore.listKeys(filter);
                walked.addAll(page.keys());
                filter = filter.withCursor(page.nextCursor().orElse(null));
                // A key stored meanwhile in a tenant namespace not seen yet, after the cursor, is found too.
                if (walked.size() == 5) {
                    KeyMetadata late = key("zz-late", Owner.tenant("hooli"));
                    store(keystore, late);
                    all.add(late);
                }
            } while (page.nextCursor().isPresent());
            assertEquals(all, walked, "every tenant's keys and the services', in KeyId order, no repeat or gap");

            List<KeyMetadata> acme = all.stream().filter(m -> m.owner().equals(Owner.tenant("acme")))
                    .collect(Collectors.toList());
            assertEquals(acme, keystore.listKeys(KeyFilter.builder().owner(Owner.tenant("acme")).build()).keys());
            assertEquals(all.stream().filter(m -> m.owner().kind() == OwnerKind.TENANT).collect(Collectors.toList()),
                    keystore.listKeys(KeyFilter.builder().ownerKind(OwnerKind.TENANT).build()).keys());
            assertEquals(all.stream().filter(m -> m.owner().kind() == OwnerKind.SERVICE).collect(Collectors.toList()),
                    keystore.listKeys(KeyFilter.builder().ownerKind(OwnerKind.SERVICE).type(KeyType.L3).build())
                            .keys());
        }
    }

    /** A root-namespace policy for one tenant's namespace, and the index in the services namespace. */
    private static String confinedToken(String name, String base, String services, String tenant, String prefix) {
        String hcl = kvPaths(base + "/" + tenant + "/secret", prefix) + kvPaths(services + "/secret", prefix + "/index");
        server.request("PUT", "sys/policies/acl/" + name, Json.object().add("policy", hcl).toString(), 204, 200);
        return server.secretFile(name + "-token", server.createToken(name, "1h", true));
    }

    private static String kvPaths(String mount, String prefix) {
        return "path \"" + mount + "/data/" + prefix + "/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n"
                + "path \"" + mount + "/metadata/" + prefix + "/*\" { capabilities = [\"read\", \"list\", \"delete\"] }\n"
                + "path \"" + mount + "/destroy/" + prefix + "/*\" { capabilities = [\"update\"] }\n";
    }

    @Test
    void aTokenConfinedToOneTenantsNamespaceIsRefusedForAnothersAndChangesNothing() {
        KeyMetadata theirs = key("globex-root", Owner.tenant("globex"));
        KeyMetadata before = key("acme-root", Owner.tenant("acme"));
        try (OpenBaoKeystore admin = TestConfig.open(perTenant("c", "conf", null))) {
            store(admin, theirs);
            store(admin, before);
        }
        Map<String, Object> props = perTenant("c", "conf", null);
        props.put("token.source", confinedToken("acme-only", "conf", "conf", "acme", "c"));
        try (OpenBaoKeystore acme = TestConfig.open(props);
                OpenBaoKeystore admin = TestConfig.open(perTenant("c", "conf", null))) {
            // Its own tenant: everything works.
            KeyMetadata mine = key("acme-kek", Owner.tenant("acme"));
            store(acme, mine);
            assertEquals(StoredKey.of(sealed(8), mine), acme.retrieveKey(mine.id()));
            assertEquals(before, acme.retrieveKey(before.id()).metadata());
            KeyMetadata next = mine.toBuilder().status(KeyStatus.DEPRECATED).revision(2).build();
            acme.updateKeyMetadata(mine.id(), next);
            assertEquals(List.of(next, before), // KeyId order: acme-kek before acme-root
                    acme.listKeys(KeyFilter.builder().owner(Owner.tenant("acme")).build()).keys());
            assertTrue(acme.health().isUp(), () -> acme.health().toString());

            // Another tenant's keys: refused by policy, naming that namespace.
            List<KeyMetadata> everything = admin.listKeys(KeyFilter.all()).keys();
            PolicyRefusedException read = assertThrows(PolicyRefusedException.class,
                    () -> acme.retrieveKey(theirs.id()));
            assertTrue(read.getMessage().contains("conf/globex"), read.getMessage());
            KeyMetadata intruder = key("acme-in-globex", Owner.tenant("globex"));
            PolicyRefusedException write = assertThrows(PolicyRefusedException.class, () -> store(acme, intruder));
            assertTrue(write.getMessage().contains("conf/globex"), write.getMessage());
            assertThrows(PolicyRefusedException.class, () -> acme.updateKeyMetadata(theirs.id(),
                    theirs.toBuilder().status(KeyStatus.RETIRED).revision(2).build()));
            assertThrows(PolicyRefusedException.class, () -> acme.deleteKey(theirs.id()));

            // Nothing changed: no index entry nor record of the refused store, the other key intact.
            assertEquals(everything, admin.listKeys(KeyFilter.all()).keys());
            assertThrows(KeyNotFoundException.class, () -> admin.retrieveKey(intruder.id()));
            assertFalse(recordIn("conf", "c/index/acme-in-globex+000000001"));
            assertFalse(recordIn("conf/globex", "c/L3/tenant/globex/acme-in-globex/1"));
            assertEquals(StoredKey.of(sealed(theirs.id().name().length()), theirs), admin.retrieveKey(theirs.id()));
            assertTrue(acme.deleteKey(mine.id()));
        }
    }

    @Test
    void aTokenThatMayNotCreateNamespacesOrMountsIsRefusedClearly() {
        try (OpenBaoKeystore admin = TestConfig.open(perTenant("m", "nocreate", null))) {
            store(admin, key("seed", Owner.service("svc"))); // creates the base namespace, its mount and index
        }
        // A namespace the operator made without a KV mount in it.
        server.cli("namespace", "create", "-namespace=nocreate", "hooli");
        Map<String, Object> props = perTenant("m", "nocreate", null);
        props.put("token.source", confinedToken("initech-only", "nocreate", "nocreate", "initech", "m"));
        try (OpenBaoKeystore initech = TestConfig.open(props);
                OpenBaoKeystore admin = TestConfig.open(perTenant("m", "nocreate", null))) {
            List<KeyMetadata> everything = admin.listKeys(KeyFilter.all()).keys();

            KeyMetadata first = key("initech-kek", Owner.tenant("initech"));
            PolicyRefusedException e = assertThrows(PolicyRefusedException.class, () -> store(initech, first));
            assertTrue(e.getMessage().contains("create namespace nocreate/initech"), e.getMessage());
            assertTrue(e.getMessage().contains("create capability on sys/namespaces/initech in namespace nocreate"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("nothing was written"), e.getMessage());
            assertEquals(Set.of("hooli/"), children("nocreate"), "no namespace created");

            KeyMetadata hooli = key("hooli-kek", Owner.tenant("hooli"));
            props.put("token.source", confinedToken("hooli-only", "nocreate", "nocreate", "hooli", "m"));
            try (OpenBaoKeystore hooliOnly = TestConfig.open(props)) {
                PolicyRefusedException m = assertThrows(PolicyRefusedException.class, () -> store(hooliOnly, hooli));
                assertTrue(m.getMessage().contains("mount KV v2 at secret in namespace nocreate/hooli"),
                        m.getMessage());
                assertTrue(m.getMessage().contains("create capability on sys/mounts/secret"), m.getMessage());
            }
            assertEquals(1, server.cliResult("secrets", "list", "-namespace=nocreate/hooli", "-format=json")
                    .out.contains("\"secret/\"") ? 0 : 1, "no mount created");

            // Nothing changed: no index entries; the same stores by a token that may succeed afterwards.
            assertEquals(everything, admin.listKeys(KeyFilter.all()).keys());
            assertFalse(recordIn("nocreate", "m/index/initech-kek+000000001"));
            store(admin, first);
            store(admin, hooli);
            assertEquals(Set.of("hooli/", "initech/"), children("nocreate"));
            assertEquals(first, admin.retrieveKey(first.id()).metadata());
        }
    }
}
