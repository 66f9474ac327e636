package org.openkcm.keystore.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class KeystorePropertiesTest {

    @Test
    void typedArraysAndCollectionsAreTakenAsTheyAre() {
        assertEquals(List.of("L2", "L3"), KeystoreProperties.values(new String[] {"L2", "L3"}));
        assertEquals(List.of("eu"), KeystoreProperties.values(Set.of("eu")));
    }

    @Test
    void aPlainCommaSeparatedValueIsSplitAndTrimmed() {
        assertEquals(List.of("L2", "L3", "L4"), KeystoreProperties.values("L2, L3 ,L4"));
        assertEquals(List.of("L2", "L4"), KeystoreProperties.values(new String[] {"L2,L4"}));
    }

    @Test
    void absentOrEmptyMeansNoValues() {
        assertEquals(List.of(), KeystoreProperties.values(null));
        assertEquals(List.of(), KeystoreProperties.values(""));
        assertEquals(List.of(), KeystoreProperties.values(new String[] {" ", ","}));
    }
}
