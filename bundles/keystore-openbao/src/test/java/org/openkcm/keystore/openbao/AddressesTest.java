package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Which node of a cluster calls go to, and how a failure moves them on. */
class AddressesTest {
    private static final String A = "https://a:8200";
    private static final String B = "https://b:8200";
    private static final String C = "https://c:8200";

    @Test
    void aFailureMovesToTheNextNodeRoundRobin() {
        Addresses nodes = new Addresses(List.of(A, B, C));
        assertTrue(nodes.cluster());
        assertEquals(A, nodes.current());
        assertEquals(B, nodes.failedOver(A));
        assertEquals(C, nodes.failedOver(B));
        assertEquals(A, nodes.failedOver(C));
    }

    @Test
    void callsFailingTogetherOnOneNodeMoveThePointerOnce() {
        Addresses nodes = new Addresses(List.of(A, B, C));
        assertEquals(B, nodes.failedOver(A));
        // the other calls that were in flight on A report it late: B, which serves, is kept
        assertEquals(B, nodes.failedOver(A));
        assertEquals(B, nodes.failedOver(A));
        assertEquals(B, nodes.current());
    }

    @Test
    void aSingleNodeIsKept() {
        Addresses node = new Addresses(List.of(A));
        assertFalse(node.cluster());
        assertEquals(A, node.failedOver(A));
    }

    @Test
    void noAddressIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Addresses(List.of()));
    }
}
