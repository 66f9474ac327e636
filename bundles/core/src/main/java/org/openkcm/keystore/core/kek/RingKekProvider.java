package org.openkcm.keystore.core.kek;

import java.util.List;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;

/**
 * A {@link KekProvider} over a {@link KekRing} held in this process. The ring is swapped whole when
 * the provider reloads, so a call sees one ring from start to end.
 */
public abstract class RingKekProvider implements KekProvider {
    private volatile KekRing ring;

    /** Installs a new ring; the previous one is left to callers still using it. */
    protected final void install(KekRing next) {
        this.ring = next;
    }

    /** Wipes and forgets the ring: every call fails with {@link UnavailableException} afterwards. */
    protected final void unload() {
        KekRing old = ring;
        ring = null;
        if (old != null) {
            old.destroy();
        }
    }

    /**
     * The ring in force now, or null if none is loaded: a new object whenever the provider
     * (re)loads, so a caller can tell that the key bytes may have changed.
     */
    public final Object ringIdentity() {
        return ring;
    }

    /**
     * A provider over the ring in force now, which a reload does not change: what was checked is
     * what wraps. Its calls fail as unavailable once this provider unloads (the ring is wiped).
     *
     * @throws UnavailableException if no ring is loaded
     */
    public final KekProvider snapshot() {
        KekRing current = ring();
        return new Snapshot(current);
    }

    private static final class Snapshot extends RingKekProvider {
        Snapshot(KekRing ring) {
            install(ring);
        }
    }

    protected final KekRing ring() {
        KekRing current = ring;
        if (current == null) {
            throw new UnavailableException("the KEK provider " + getClass().getSimpleName() + " is not loaded");
        }
        return current;
    }

    @Override
    public String kekId() {
        return ring().kekId();
    }

    @Override
    public List<Integer> versions() {
        return ring().versions();
    }

    @Override
    public int currentVersion() {
        return ring().currentVersion();
    }

    @Override
    public byte[] wrap(int version, byte[] dataKey) {
        return ring().wrap(version, dataKey);
    }

    @Override
    public byte[] unwrap(int version, byte[] wrapped) {
        return ring().unwrap(version, wrapped);
    }

    @Override
    public byte[] mac(int version, byte[] data) {
        return ring().mac(version, data);
    }

    @Override
    public String toString() {
        KekRing current = ring;
        return getClass().getSimpleName() + "[" + (current == null ? "unloaded" : current) + "]";
    }
}
