package org.openkcm.keystore.bench;

import java.util.List;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.kek.common.RootKey;

/**
 * The design not chosen, for measurement only: every data key wrapped by the remote root itself
 * (one root call per seal and one per open, as the AWS Encryption SDK does). MACs come from the
 * ring, as they must stay a deterministic function of the version.
 */
final class PerRecordRootKek implements KekProvider {
    private final RootKey root;
    private final KekProvider ring;

    PerRecordRootKek(RootKey root, KekProvider ring) {
        this.root = root;
        this.ring = ring;
    }

    @Override
    public String kekId() {
        return ring.kekId();
    }

    @Override
    public List<Integer> versions() {
        return ring.versions();
    }

    @Override
    public int currentVersion() {
        return ring.currentVersion();
    }

    @Override
    public byte[] wrap(int version, byte[] dataKey) {
        return root.seal(dataKey, "record/" + version);
    }

    @Override
    public byte[] unwrap(int version, byte[] wrapped) {
        return root.unseal(wrapped, "record/" + version);
    }

    @Override
    public byte[] mac(int version, byte[] data) {
        return ring.mac(version, data);
    }
}
