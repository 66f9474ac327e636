package org.openkcm.keystore.core.envelope;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;

/**
 * The canonical encodings of metadata that the envelope authenticates (RECORD-FORMAT.md, sections
 * "Bound metadata" and "Lifecycle MAC"). Changing either encoding is a new format version.
 */
public final class BoundMetadata {
    static final String BOUND_LABEL = "openkcm-keystore/bound/v1";
    static final String LIFECYCLE_LABEL = "openkcm-keystore/lifecycle/v1";

    private BoundMetadata() {
    }

    /**
     * The fields fixed when the key is stored: id (name, version), type, owner (kind, id),
     * algorithm, key size, parent, region and created time.
     */
    public static byte[] encode(KeyMetadata m) {
        return writeBound(new Canonical(160), m).toBytes();
    }

    private static Canonical writeBound(Canonical out, KeyMetadata m) {
        out.str(BOUND_LABEL)
                .str(m.id().name())
                .u32(m.id().version())
                .str(m.type().name())
                .str(m.owner().kind().name())
                .str(m.owner().id())
                .str(m.algorithm())
                .u32(m.keySize());
        KeyId parent = m.parent().orElse(null);
        out.present(parent != null);
        if (parent != null) {
            out.str(parent.name()).u32(parent.version());
        }
        String region = m.region().orElse(null);
        out.present(region != null);
        if (region != null) {
            out.str(region);
        }
        return out.i64(m.created().toEpochMilli());
    }

    /**
     * The AAD of the material seal: the record's format version byte, then the bound fields. A
     * writer, not an array: the cipher takes its buffer and length as they are.
     */
    static Canonical materialAad(int formatVersion, KeyMetadata m) {
        return writeBound(new Canonical(160).u8(formatVersion), m);
    }

    /**
     * What the lifecycle MAC authenticates: a label, the MAC token's header (which names the KEK
     * that keys it), the bound fields, then status, expiry, tags, updated time and revision.
     */
    static byte[] lifecycleInput(byte[] macHeader, KeyMetadata m) {
        return lifecycleInput(macHeader, 0, macHeader.length, m);
    }

    /** As {@link #lifecycleInput(byte[], KeyMetadata)}, the header being {@code length} bytes of {@code token} at {@code offset}. */
    static byte[] lifecycleInput(byte[] token, int offset, int length, KeyMetadata m) {
        Canonical out = new Canonical(256).str(LIFECYCLE_LABEL);
        out.u16(length).raw(token, offset, length);
        out.blob(bound -> writeBound(bound, m));
        out.str(m.status().name());
        out.present(m.expiry().isPresent());
        m.expiry().ifPresent(e -> out.i64(e.toEpochMilli()));
        out.u16(m.tags().size());
        // sorted by key: KeyMetadata keeps a TreeMap. forEach, not entrySet(): the map memoizes its
        // entry-set view on first use, a write into metadata that is usually old by then, which every
        // young collection must then scan (at a million keys read at random, a dirty card per read).
        m.tags().forEach((key, value) -> out.str(key).str(value));
        out.i64(m.updated().toEpochMilli());
        out.i64(m.revision());
        return out.toBytes();
    }
}
