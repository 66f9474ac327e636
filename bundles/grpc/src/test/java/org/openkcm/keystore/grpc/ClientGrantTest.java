package org.openkcm.keystore.grpc;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import javax.security.auth.x500.X500Principal;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;

class ClientGrantTest {
    private static final X500Principal APP = new X500Principal("CN=orders-app,O=example");

    private static ClientGrant grant(String[] owners, String[] tiers, String... classes) {
        return ClientGrant.parse("g", "CN=orders-app,O=example", "", owners, tiers, classes);
    }

    @Test
    void anOwnerPrefixCoversTheOwnersWhoseIdStartsWithIt() {
        ClientGrant g = grant(new String[] {"tenant:acme-*"}, new String[] {"L3"}, "metadata");
        assertTrue(g.allows(OperationClass.METADATA, Owner.tenant("acme-eu"), KeyType.L3));
        assertFalse(g.allows(OperationClass.METADATA, Owner.tenant("acmex"), KeyType.L3));
        assertFalse(g.allows(OperationClass.METADATA, Owner.service("acme-eu"), KeyType.L3), "another owner kind");
    }

    @Test
    void anExactOwnerCoversThatOwnerOnly() {
        ClientGrant g = grant(new String[] {"service:billing"}, new String[] {"L3", "L4"}, "material");
        assertTrue(g.allows(OperationClass.MATERIAL, Owner.service("billing"), KeyType.L4));
        assertFalse(g.allows(OperationClass.MATERIAL, Owner.service("billing2"), KeyType.L4));
    }

    @Test
    void tiersAndClassesBound() {
        ClientGrant g = grant(new String[] {"*"}, new String[] {"L4"}, "metadata");
        assertTrue(g.allows(OperationClass.METADATA, Owner.node("n1"), KeyType.L4));
        assertFalse(g.allows(OperationClass.METADATA, Owner.node("n1"), KeyType.L3), "tier not granted");
        assertFalse(g.allows(OperationClass.MATERIAL, Owner.node("n1"), KeyType.L4), "class not granted");
        assertFalse(g.allows(OperationClass.ADMIN));
    }

    @Test
    void aGrantAppliesBySubjectOrBySan() {
        ClientGrant bySubject = grant(new String[] {"*"}, new String[] {"L2"}, "admin");
        assertTrue(bySubject.appliesTo(new X500Principal("CN=orders-app, O=example"), List.of()),
                "the same name, spaced differently");
        assertFalse(bySubject.appliesTo(new X500Principal("CN=other"), List.of()));
        ClientGrant bySan = ClientGrant.parse("g", "", "orders.example.com", new String[] {"*"},
                new String[] {"L2"}, new String[] {"admin"});
        assertTrue(bySan.appliesTo(new X500Principal("CN=whatever"), List.of("orders.example.com")));
        assertFalse(bySan.appliesTo(APP, List.of("other.example.com")));
    }

    @Test
    void aBadGrantNamesTheAttribute() {
        assertEquals("subject", field(() -> ClientGrant.parse("g", "", "", new String[] {"*"},
                new String[] {"L2"}, new String[] {"admin"})));
        assertEquals("subject", field(() -> ClientGrant.parse("g", "CN=a", "a.example", new String[] {"*"},
                new String[] {"L2"}, new String[] {"admin"})));
        assertEquals("owners", field(() -> grant(new String[] {}, new String[] {"L2"}, "admin")));
        assertEquals("owners", field(() -> grant(new String[] {"planet:earth"}, new String[] {"L2"}, "admin")));
        assertEquals("owners", field(() -> grant(new String[] {"tenant:a*b"}, new String[] {"L2"}, "admin")));
        assertEquals("tiers", field(() -> grant(new String[] {"*"}, new String[] {"L9"}, "admin")));
        assertEquals("classes", field(() -> grant(new String[] {"*"}, new String[] {"L2"}, "everything")));
        assertEquals("classes", field(() -> grant(new String[] {"*"}, new String[] {"L2"})));
    }

    @Test
    void aCallerWithoutAMatchingGrantIsRefusedEverything() {
        Caller nobody = new Caller(APP, List.of());
        assertThrows(StatusMapping.NotGrantedException.class,
                () -> nobody.require(OperationClass.METADATA, Owner.tenant("acme"), KeyType.L2));
        assertThrows(StatusMapping.NotGrantedException.class, () -> nobody.require(OperationClass.ADMIN));
    }

    @Test
    void grantsAddUp() {
        Caller caller = new Caller(APP, List.of(
                grant(new String[] {"tenant:acme"}, new String[] {"L2"}, "metadata"),
                grant(new String[] {"tenant:beta"}, new String[] {"L3"}, "material")));
        assertDoesNotThrow(() -> caller.require(OperationClass.METADATA, Owner.tenant("acme"), KeyType.L2));
        assertDoesNotThrow(() -> caller.require(OperationClass.MATERIAL, Owner.tenant("beta"), KeyType.L3));
        StatusMapping.NotGrantedException refused = assertThrows(StatusMapping.NotGrantedException.class,
                () -> caller.require(OperationClass.MATERIAL, Owner.tenant("acme"), KeyType.L2));
        assertTrue(refused.getMessage().contains("material"), refused.getMessage());
    }

    private static String field(Runnable parse) {
        return assertThrows(InvalidInputException.class, parse::run).field();
    }
}
