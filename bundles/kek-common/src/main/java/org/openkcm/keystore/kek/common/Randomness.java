package org.openkcm.keystore.kek.common;

import java.security.SecureRandom;

/** The one strong random source of the KEK providers. */
final class Randomness {
    static final SecureRandom INSTANCE = new SecureRandom();

    private Randomness() {
    }
}
