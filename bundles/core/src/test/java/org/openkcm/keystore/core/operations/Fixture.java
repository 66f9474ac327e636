package org.openkcm.keystore.core.operations;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.StoredKey;
import org.openkcm.keystore.core.testing.CapturingLogger;
import org.openkcm.keystore.core.testing.RecordingKeystore;
import org.openkcm.keystore.core.testing.TestKeks;

/** The operations over a recording wrapper of the memory backend, a fixed KEK, a settable clock and a captured log. */
final class Fixture {
    static final Instant T0 = Instant.parse("2026-06-01T08:00:00.000Z");

    static final class MutableClock extends Clock {
        volatile Instant now = T0;

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void advanceMillis(long millis) {
            now = now.plusMillis(millis);
        }
    }

    final RecordingKeystore backend = new RecordingKeystore();
    final CapturingLogger log = new CapturingLogger();
    final MutableClock clock = new MutableClock();
    final TestKeks.Fixed kek;
    final DefaultKeystoreOperations ops;

    Fixture() {
        this(TestKeks.fixed("test", 1));
    }

    Fixture(TestKeks.Fixed kek) {
        this.kek = kek;
        this.ops = DefaultKeystoreOperations.of(backend, List.<KekProvider>of(kek)).clock(clock).logger(log.logger());
    }

    static KeySpec.Builder spec(String name) {
        return KeySpec.builder().name(name).type(KeyType.L4).algorithm("AES").keySize(256).owner(Owner.service("svc"));
    }

    byte[] material(KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    StoredKey raw(KeyId id) {
        return backend.snapshot().get(id);
    }

    Map<KeyId, StoredKey> snapshot() {
        return backend.snapshot();
    }
}
