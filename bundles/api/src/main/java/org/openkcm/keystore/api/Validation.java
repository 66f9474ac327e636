package org.openkcm.keystore.api;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * Every rule for identifiers, metadata and filters, in one place. The value types of this package
 * call it on construction; backends and the core call it for anything that arrives from outside.
 * Each check throws {@link InvalidInputException} naming the field and the rule.
 */
public final class Validation {

    /** Longest key name, owner id, tag key or cursor part that may reach a backend path. */
    public static final int MAX_NAME_LENGTH = 128;
    public static final int MAX_REGION_LENGTH = 64;
    public static final int MAX_ALGORITHM_LENGTH = 32;
    public static final int MAX_VERSION = 999_999_999;
    public static final int MAX_KEY_SIZE_BITS = 65_536;
    public static final int MAX_TAGS = 32;
    public static final int MAX_TAG_KEY_LENGTH = 64;
    public static final int MAX_TAG_VALUE_LENGTH = 256;
    public static final int MAX_LIFECYCLE_MAC_LENGTH = 512;
    /** Largest sealed record a backend must accept: 64 KiB of material plus envelope overhead. */
    public static final int MAX_SEALED_BYTES = 128 * 1024;
    public static final int MAX_PAGE_SIZE = 1000;
    public static final int DEFAULT_PAGE_SIZE = 100;
    public static final int MAX_CURSOR_LENGTH = 1024;

    /**
     * An identifier starts with a letter or digit and continues with letters, digits, '.', '_'
     * or '-'. No path separator, no traversal ("..", "." alone), no whitespace or control
     * character can pass, so an identifier is safe as one segment of a storage path.
     */
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final String IDENTIFIER_RULE =
            "must start with a letter or digit and contain only letters, digits, '.', '_' or '-'";
    private static final Pattern TAG_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]*");
    private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]*={0,2}");
    private static final Pattern CURSOR = Pattern.compile("[\\x21-\\x7e]+");

    private Validation() {
    }

    /** A key name, owner id or other identifier that may become a storage path segment. */
    public static String identifier(String field, String value, int maxLength) {
        if (value == null || value.isEmpty()) {
            throw new InvalidInputException(field, "is required");
        }
        if (value.length() > maxLength) {
            throw new InvalidInputException(field, "must be at most " + maxLength + " characters");
        }
        if (!IDENTIFIER.matcher(value).matches()) {
            throw new InvalidInputException(field, IDENTIFIER_RULE);
        }
        return value;
    }

    public static String keyName(String name) {
        return identifier("keyId.name", name, MAX_NAME_LENGTH);
    }

    public static int version(int version) {
        if (version < 1 || version > MAX_VERSION) {
            throw new InvalidInputException("keyId.version", "must be between 1 and " + MAX_VERSION);
        }
        return version;
    }

    public static String ownerId(String id) {
        return identifier("owner.id", id, MAX_NAME_LENGTH);
    }

    public static String region(String region) {
        return identifier("region", region, MAX_REGION_LENGTH);
    }

    public static String algorithm(String algorithm) {
        return identifier("algorithm", algorithm, MAX_ALGORITHM_LENGTH);
    }

    public static int keySize(int bits) {
        if (bits < 1 || bits > MAX_KEY_SIZE_BITS) {
            throw new InvalidInputException("keySize", "must be between 1 and " + MAX_KEY_SIZE_BITS + " bits");
        }
        return bits;
    }

    public static long revision(String field, long revision) {
        if (revision < 1) {
            throw new InvalidInputException(field, "must be 1 or more");
        }
        return revision;
    }

    /** At most {@link #MAX_TAGS} entries; keys are identifiers (':' allowed), values printable text. */
    public static Map<String, String> tags(Map<String, String> tags) {
        if (tags == null) {
            throw new InvalidInputException("tags", "is required (use an empty map)");
        }
        if (tags.size() > MAX_TAGS) {
            throw new InvalidInputException("tags", "must have at most " + MAX_TAGS + " entries");
        }
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            String key = tag.getKey();
            if (key == null || key.isEmpty() || key.length() > MAX_TAG_KEY_LENGTH || !TAG_KEY.matcher(key).matches()) {
                throw new InvalidInputException("tags",
                        "a tag key must be 1 to " + MAX_TAG_KEY_LENGTH
                                + " characters, start with a letter or digit and contain only letters, digits, '.', '_', ':' or '-'");
            }
            String value = tag.getValue();
            if (value == null || value.length() > MAX_TAG_VALUE_LENGTH || hasControlCharacter(value)) {
                throw new InvalidInputException("tags", "the value of tag '" + key + "' must be at most "
                        + MAX_TAG_VALUE_LENGTH + " characters with no control characters");
            }
        }
        return tags;
    }

    public static String lifecycleMac(String mac) {
        if (mac.isEmpty() || mac.length() > MAX_LIFECYCLE_MAC_LENGTH || !BASE64URL.matcher(mac).matches()) {
            throw new InvalidInputException("lifecycleMac",
                    "must be 1 to " + MAX_LIFECYCLE_MAC_LENGTH + " characters of base64url");
        }
        return mac;
    }

    public static int pageSize(int pageSize) {
        if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
            throw new InvalidInputException("filter.pageSize", "must be between 1 and " + MAX_PAGE_SIZE);
        }
        return pageSize;
    }

    public static String cursor(String cursor) {
        if (cursor.isEmpty() || cursor.length() > MAX_CURSOR_LENGTH || !CURSOR.matcher(cursor).matches()) {
            throw new InvalidInputException("filter.cursor",
                    "must be a cursor returned by a previous page (1 to " + MAX_CURSOR_LENGTH + " printable characters)");
        }
        return cursor;
    }

    public static byte[] sealedBytes(byte[] bytes) {
        if (bytes == null) {
            throw new InvalidInputException("sealed", "is required");
        }
        if (bytes.length > MAX_SEALED_BYTES) {
            throw new InvalidInputException("sealed", "must be at most " + MAX_SEALED_BYTES + " bytes");
        }
        return bytes;
    }

    public static <T> T required(String field, T value) {
        if (value == null) {
            throw new InvalidInputException(field, "is required");
        }
        return value;
    }

    /** A store must carry metadata for the id it is stored under. */
    public static void storeRequest(KeyId id, SealedKey sealed, KeyMetadata metadata) {
        required("keyId", id);
        required("sealed", sealed);
        required("metadata", metadata);
        if (!metadata.id().equals(id)) {
            throw new InvalidInputException("metadata.id", "must equal the key id it is stored under", id);
        }
    }

    /**
     * The rule every backend applies to {@code updateKeyMetadata}: only lifecycle fields may change,
     * and the proposed revision must be exactly one more than the stored one (compare-and-set).
     *
     * @throws InvalidInputException if an immutable field differs
     * @throws ConflictException if the proposed revision does not follow the stored one
     */
    public static void metadataUpdate(KeyMetadata stored, KeyMetadata proposed) {
        required("metadata", proposed);
        if (!stored.sameImmutableFields(proposed)) {
            throw new InvalidInputException("metadata",
                    "only status, expiry, tags, updated time and lifecycle MAC may change; material and identity are immutable",
                    stored.id());
        }
        if (proposed.revision() != stored.revision() + 1) {
            throw new ConflictException(stored.id(), proposed.revision() - 1, stored.revision());
        }
    }

    /** The rule every backend applies to {@code rewrapKey}: compare-and-set on the stored revision. */
    public static void rewrap(KeyMetadata stored, long expectedRevision) {
        if (stored.revision() != expectedRevision) {
            throw new ConflictException(stored.id(), expectedRevision, stored.revision());
        }
    }

    static boolean hasControlCharacter(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                return true;
            }
        }
        return false;
    }
}
