package org.openkcm.keystore.openbao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;

import org.junit.jupiter.api.Test;

class AddressHistoryTest {
    private final AddressHistory history = new AddressHistory();

    @Test
    void onlyAChangedAddressIsReported() {
        assertTrue(history.accept("pid-a", "https://bao-1:8200").isEmpty(), "first activation");
        assertTrue(history.accept("pid-a", "https://bao-1:8200").isEmpty(), "same address again");

        assertEquals(Optional.of("OpenBao keystore configuration pid-a: address changed from https://bao-1:8200"
                + " to https://bao-2:8200"), history.accept("pid-a", "https://bao-2:8200"));
        assertTrue(history.accept("pid-a", "https://bao-2:8200").isEmpty(), "the new address is now the known one");
    }

    @Test
    void configurationsAreTrackedApartAndForgottenWhenDeleted() {
        history.accept("pid-a", "https://bao-1:8200");
        assertTrue(history.accept("pid-b", "https://bao-2:8200").isEmpty(), "another configuration");

        history.forget("pid-a");
        assertTrue(history.accept("pid-a", "https://bao-3:8200").isEmpty(), "a deleted configuration starts afresh");
        assertTrue(history.accept("pid-b", "https://bao-3:8200").isPresent());
    }
}
