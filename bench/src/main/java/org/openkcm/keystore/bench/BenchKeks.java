package org.openkcm.keystore.bench;

import java.security.SecureRandom;
import java.util.Map;

import org.openkcm.keystore.core.kek.KekRing;
import org.openkcm.keystore.core.kek.RingKekProvider;

/** A KEK provider holding one random 256-bit KEK in memory: the local providers' crypto, without a file. */
public final class BenchKeks extends RingKekProvider {
    public BenchKeks() {
        byte[] kek = new byte[32];
        new SecureRandom().nextBytes(kek);
        install(KekRing.of("bench", Map.of(1, kek)));
        java.util.Arrays.fill(kek, (byte) 0);
    }
}
