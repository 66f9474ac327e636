package org.openkcm.keystore.openbao;

import java.util.Locale;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.Validation;

/**
 * Where things live in the KV v2 mount, relative to the mount (every path starts with the
 * configured prefix):
 *
 * <pre>
 * &lt;prefix&gt;/&lt;tier&gt;/&lt;owner kind&gt;/&lt;owner id&gt;/&lt;key name&gt;/&lt;version&gt;   the record: sealed bytes (base64) and metadata
 * &lt;prefix&gt;/index/&lt;key name&gt;+&lt;version, 9 digits&gt;                the index entry: the record's location
 * </pre>
 *
 * The record path carries tier and owner, which a {@link KeyId} alone does not; the index maps
 * an id to them. Index entry names sort, byte by byte, exactly in {@link KeyId} order: '+' sorts
 * before every character a key name may hold, and versions are zero-padded. So one LIST of the
 * index, paged with OpenBao's {@code after}/{@code limit}, walks the keys in the contract's order.
 * Every segment is an identifier checked by the api's {@code Validation}, so no path can leave
 * the prefix.
 */
final class Layout {
    static final String INDEX = "index";
    private static final char VERSION_SEPARATOR = '+';

    private final String prefix;

    Layout(String prefix) {
        this.prefix = prefix;
    }

    /** The location of a key's record: {@code <tier>/<owner kind>/<owner id>}. */
    static String location(KeyMetadata metadata) {
        return metadata.type().name() + "/" + metadata.owner().kind().label() + "/" + metadata.owner().id();
    }

    String record(String location, KeyId id) {
        return prefix + "/" + location + "/" + id.name() + "/" + id.version();
    }

    String index(KeyId id) {
        return prefix + "/" + INDEX + "/" + entry(id);
    }

    String indexDirectory() {
        return prefix + "/" + INDEX;
    }

    /** The index entry name of an id. */
    static String entry(KeyId id) {
        return id.name() + VERSION_SEPARATOR + String.format(Locale.ROOT, "%09d", id.version());
    }

    /** The id an index entry name stands for, or null if the name is not one this backend writes. */
    static KeyId parseEntry(String entry) {
        int separator = entry.lastIndexOf(VERSION_SEPARATOR);
        if (separator <= 0 || entry.length() - separator != 10) {
            return null;
        }
        try {
            KeyId id = KeyId.of(entry.substring(0, separator), Integer.parseInt(entry.substring(separator + 1)));
            return entry(id).equals(entry) ? id : null;
        } catch (InvalidInputException | NumberFormatException e) {
            return null;
        }
    }

    /**
     * False if a key at this location cannot match the filter's tier and owner criteria, so that
     * its record need not be read; true if it may match (the full filter is applied afterwards).
     */
    static boolean mayMatch(String location, KeyFilter filter) {
        String[] parts = location.split("/", 3);
        if (parts.length != 3) {
            return true;
        }
        if (filter.type().isPresent() && !filter.type().get().name().equals(parts[0])) {
            return false;
        }
        if (filter.ownerKind().isPresent() && !filter.ownerKind().get().label().equals(parts[1])) {
            return false;
        }
        return filter.ownerId().isEmpty() || filter.ownerId().get().equals(parts[2]);
    }

    /** True if the location names a tier, owner kind and owner id this backend could have written. */
    static boolean isLocation(String location) {
        String[] parts = location.split("/", -1);
        if (parts.length != 3) {
            return false;
        }
        try {
            KeyType.valueOf(parts[0]);
            OwnerKind.valueOf(parts[1].toUpperCase(Locale.ROOT));
            Validation.ownerId(parts[2]);
            return parts[1].equals(parts[1].toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException | InvalidInputException e) {
            return false;
        }
    }
}
