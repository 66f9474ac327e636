package org.openkcm.keystore.core.saga;

import java.util.Objects;
import java.util.OptionalLong;

import org.openkcm.keystore.api.StoredKey;

/**
 * What names exactly one stored record of a key version, as the journal keeps it: the SHA-256 of
 * its sealed record and its created time. A new key stored later under the same id (after a delete)
 * differs in both; a re-wrapped record keeps its created time but not its digest, and is not a match
 * either: recovery acts on a record only when it is, byte for byte, the one its operation saw.
 *
 * @param sha256 the digest of the sealed record ({@link KeystoreSagas#digest})
 * @param createdMillis the created time in epoch milliseconds; empty in intents journaled before it
 *            was recorded (the digest alone then decides)
 */
public record RecordMatch(String sha256, OptionalLong createdMillis) {

    public RecordMatch {
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(createdMillis, "createdMillis");
    }

    public static RecordMatch of(StoredKey stored) {
        return new RecordMatch(KeystoreSagas.digest(stored.sealed()),
                OptionalLong.of(stored.metadata().created().toEpochMilli()));
    }

    /** True if the record is the one this names. */
    public boolean matches(StoredKey stored) {
        if (createdMillis.isPresent() && createdMillis.getAsLong() != stored.metadata().created().toEpochMilli()) {
            return false;
        }
        return sha256.equals(KeystoreSagas.digest(stored.sealed()));
    }

    /** The journaled form, {@code created:sha256}. */
    String encode() {
        return createdMillis.orElseThrow() + ":" + sha256;
    }

    /** Reads the journaled form, or a bare digest (an intent journaled before created times were). */
    static RecordMatch parse(String encoded) {
        int colon = encoded.indexOf(':');
        if (colon < 0) {
            return new RecordMatch(encoded, OptionalLong.empty());
        }
        return new RecordMatch(encoded.substring(colon + 1), OptionalLong.of(Long.parseLong(encoded.substring(0, colon))));
    }
}
