package org.openkcm.keystore.kek.common;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.kek.common.SealedRingFile.SealedVersion;
import org.osgi.service.log.Logger;

/**
 * A {@link KekProvider} whose KEK ring is sealed at rest by a {@link RootKey} and unsealed once, at
 * load, as OpenBao's auto-unseal does: after that, every wrap, unwrap and MAC is local (the root is
 * not called per record), so records keep opening while the root is unreachable; a load while it is
 * unreachable fails with {@link UnavailableException} and installs nothing.
 * <p>
 * A load (1) reads the ring file, or creates the first version if there is none and creation is
 * allowed; (2) unseals every version through the root; (3) adds fresh versions up to the configured
 * count (a KEK rotation); (4) makes the ring of them and checks that each stored version's key has
 * the check value stored with it (a ring file of format 1, which stores none, gets them); (5)
 * re-seals under the root's current version any version sealed under an older one (after a root
 * rotation); (6) writes the file if (1) to (5) changed it, before the new ring is used. Versions
 * are never removed by a load.
 */
public abstract class RootSealedKekProvider implements KekProvider {
    private volatile LocalKekRing ring;

    /** What a load needs: the ring's id and file, the root, and how many versions it must hold at least. */
    public static final class RingSettings {
        final String kekId;
        final Path file;
        final boolean create;
        final int versions;
        final LocalKekRing.Wrap wrap;

        public RingSettings(String kekId, Path file, boolean create, int versions) {
            this(kekId, file, create, versions, LocalKekRing.Wrap.GCM);
        }

        /** With how the ring wraps new data keys (the providers' {@code wrap} setting). */
        public RingSettings(String kekId, Path file, boolean create, int versions, LocalKekRing.Wrap wrap) {
            this.kekId = Validation.identifier("kek.id", kekId, KekProvider.MAX_KEK_ID_LENGTH);
            if (versions < 1 || versions > 1000) {
                throw new InvalidInputException("kek.versions", "must be 1 to 1000 (the number of KEK versions the ring holds)");
            }
            this.file = file;
            this.create = create;
            this.versions = versions;
            this.wrap = java.util.Objects.requireNonNull(wrap, "wrap");
        }

        public LocalKekRing.Wrap wrap() {
            return wrap;
        }

        public String kekId() {
            return kekId;
        }

        public Path file() {
            return file;
        }
    }

    /** What the root binds to a sealed KEK version: the ring's id and the version. */
    public static String context(String kekId, int version) {
        return "openkcm-keystore/kek-ring/v1/" + kekId + "/" + version;
    }

    /** The logger, if the log service is present; null otherwise. */
    protected abstract Logger logger();

    /**
     * Loads the ring through the root and installs it; on any failure nothing is installed or
     * written, the previous ring (if any) stays, and the failure is logged and thrown.
     */
    protected final void load(RingSettings settings, RootKey root) {
        try {
            install(unseal(settings, root));
        } catch (KeystoreException | IllegalStateException e) {
            Logger log = logger();
            if (log != null) {
                log.error("KEK provider '{}' cannot load its ring {} through {}: {}", settings.kekId, settings.file,
                        root.describe(), e.getMessage());
            }
            throw e;
        }
    }

    private LocalKekRing unseal(RingSettings s, RootKey root) {
        NavigableMap<Integer, SealedVersion> read = SealedRingFile.read(s.file, s.kekId);
        if (read == null && !s.create) {
            throw new InvalidInputException("ring.file", s.file + " does not exist and create is false: restore the"
                    + " sealed KEK ring from its backup, or set create=true to start a new ring");
        }
        NavigableMap<Integer, SealedVersion> sealed = new TreeMap<>(read == null ? Map.of() : read);
        Map<Integer, byte[]> keks = new TreeMap<>();
        LocalKekRing next = null;
        boolean changed = read == null;
        boolean upgraded = false;
        try {
            for (Map.Entry<Integer, SealedVersion> e : sealed.entrySet()) {
                byte[] kek = root.unseal(e.getValue().sealed(), context(s.kekId, e.getKey()));
                keks.put(e.getKey(), kek);
                if (kek.length != LocalKekRing.KEK_BYTES) {
                    throw new IntegrityException(null, "version " + e.getKey() + " of the ring " + s.file
                            + " unsealed to " + kek.length + " bytes, not a KEK");
                }
            }
            int added = 0;
            while (sealed.size() < s.versions) {
                int version = sealed.isEmpty() ? 1 : sealed.lastKey() + 1;
                RootKey.GeneratedKek generated = root.generate(context(s.kekId, version));
                sealed.put(version, new SealedVersion(generated.sealed, null));
                keks.put(version, generated.kek);
                changed = true;
                added++;
            }
            // The ring derives each version's MAC key once; its check values are what the file keeps.
            next = LocalKekRing.of(s.kekId, keks, s.wrap);
            for (Map.Entry<Integer, SealedVersion> e : sealed.entrySet()) {
                SealedVersion stored = e.getValue();
                byte[] checkValue = next.checkValue(e.getKey());
                boolean fresh = read == null || !read.containsKey(e.getKey());
                if (stored.checkValue() == null) {
                    upgraded |= !fresh; // a format 1 ring: the check value is kept from now on
                } else if (!MessageDigest.isEqual(stored.checkValue(), checkValue)) {
                    throw new IntegrityException(null, "version " + e.getKey() + " of the ring " + s.file
                            + " unseals to a key whose check value is not the one stored with it (the sealed key or its"
                            + " check value was replaced, or the line comes from another ring file): restore the ring"
                            + " file from its backup; nothing was loaded");
                }
                SealedVersion checked = stored.withCheckValue(checkValue);
                if (!fresh) {
                    Optional<byte[]> refreshed = root.refresh(stored.sealed(), context(s.kekId, e.getKey()));
                    if (refreshed.isPresent()) {
                        checked = checked.withSealed(refreshed.get());
                        changed = true;
                    }
                }
                e.setValue(checked);
            }
            if (changed || upgraded) {
                SealedRingFile.write(s.file, s.kekId, root.describe(), sealed);
            }
            Logger log = logger();
            if (log != null) {
                if (upgraded) {
                    log.info("KEK provider '{}' rewrote its ring {} in format {}: it now keeps each version's check "
                            + "value", s.kekId, s.file, SealedRingFile.FORMAT);
                }
                log.info("KEK provider '{}' unsealed versions {} of {} through {}{}; version {} seals", s.kekId,
                        next.versions(), s.file, root.describe(), added > 0 ? " (" + added + " new)" : "",
                        next.currentVersion());
            }
            LocalKekRing loaded = next;
            next = null;
            return loaded;
        } finally {
            keks.values().forEach(k -> Arrays.fill(k, (byte) 0));
            if (next != null) {
                next.destroy(); // refused or not written: the keys it holds are wiped
            }
        }
    }

    /** Swaps the ring whole, so a call sees one ring from start to end; the old one is left to calls still using it. */
    private void install(LocalKekRing next) {
        ring = next;
    }

    /** Wipes and forgets the ring: every call fails with {@link UnavailableException} afterwards. */
    protected final void unload() {
        LocalKekRing old = ring;
        ring = null;
        if (old != null) {
            old.destroy();
        }
    }

    private LocalKekRing ring() {
        LocalKekRing current = ring;
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

    /** The context as bytes, for roots that take additional authenticated data. */
    public static byte[] contextBytes(String context) {
        return context.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        LocalKekRing current = ring;
        return getClass().getSimpleName() + "[" + (current == null ? "unloaded" : current) + "]";
    }
}
