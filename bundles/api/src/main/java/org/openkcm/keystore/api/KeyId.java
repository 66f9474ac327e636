package org.openkcm.keystore.api;

import java.util.Comparator;

/**
 * The identity of one version of a key: a name and a version number. Ordered by name, then
 * version, which is the stable order of {@link Keystore#listKeys}.
 */
public final class KeyId implements Comparable<KeyId> {
    private static final Comparator<KeyId> ORDER =
            Comparator.comparing(KeyId::name).thenComparingInt(KeyId::version);

    private final String name;
    private final int version;
    /*
     * Kept, not computed per call: every read hashes its id, and computing it from the name reads
     * the name's String, one more cache miss per lookup when a million ids are read at random.
     */
    private final int hash;

    private KeyId(String name, int version) {
        this.name = Validation.keyName(name);
        this.version = Validation.version(version);
        // Objects.hash(name, version)'s value, without its varargs array and boxing
        this.hash = 31 * (31 + this.name.hashCode()) + this.version;
    }

    /** @throws InvalidInputException if the name or version breaks {@link Validation}'s rules */
    public static KeyId of(String name, int version) {
        return new KeyId(name, version);
    }

    /**
     * Parses the {@link #toString()} form {@code name:version}.
     *
     * @throws InvalidInputException if the text is not of that form
     */
    public static KeyId parse(String text) {
        Validation.required("keyId", text);
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new InvalidInputException("keyId", "must be written as name:version");
        }
        int version;
        try {
            version = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new InvalidInputException("keyId.version", "must be a whole number");
        }
        return of(text.substring(0, colon), version);
    }

    public String name() {
        return name;
    }

    public int version() {
        return version;
    }

    /** The same name with the next version number. */
    public KeyId nextVersion() {
        return of(name, version + 1);
    }

    @Override
    public int compareTo(KeyId other) {
        return ORDER.compare(this, other);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyId other && hash == other.hash && version == other.version && name.equals(other.name);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return name + ":" + version;
    }
}
