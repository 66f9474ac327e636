package org.openkcm.keystore.core.kek;

import java.util.List;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;

/**
 * A refused ring, reduced to the versions whose identity the known-KEK record confirmed: those
 * still open (and verify MACs), nothing wraps, and every other version is unavailable for the
 * reason the ring was refused.
 */
final class ConfirmedVersions implements KekProvider {
    private final KekProvider ring;
    private final List<Integer> confirmed;
    private final String refusal;

    ConfirmedVersions(KekProvider ring, List<Integer> confirmed, String refusal) {
        this.ring = ring;
        this.confirmed = List.copyOf(confirmed);
        this.refusal = refusal;
    }

    @Override
    public String kekId() {
        return ring.kekId();
    }

    @Override
    public List<Integer> versions() {
        return confirmed;
    }

    @Override
    public int currentVersion() {
        return confirmed.get(confirmed.size() - 1);
    }

    @Override
    public byte[] wrap(int version, byte[] dataKey) {
        throw new UnavailableException(refusal);
    }

    @Override
    public byte[] unwrap(int version, byte[] wrapped) {
        return ring.unwrap(confirmed(version), wrapped);
    }

    @Override
    public byte[] mac(int version, byte[] data) {
        return ring.mac(confirmed(version), data);
    }

    private int confirmed(int version) {
        if (!confirmed.contains(version)) {
            throw new UnavailableException(refusal);
        }
        return version;
    }
}
