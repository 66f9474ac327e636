package org.openkcm.keystore.core.operations;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openkcm.keystore.api.InvalidInputException;

/**
 * The algorithms and key sizes the keystore generates and imports. Material is raw key bytes of
 * exactly {@code keySize / 8} bytes, whatever the algorithm; names match case-insensitively and are
 * stored in the canonical spelling below.
 */
public final class Algorithms {
    /** Algorithm name to the key sizes in bits it allows, smallest first. */
    public static final Map<String, List<Integer>> OFFERED;

    static {
        Map<String, List<Integer>> offered = new LinkedHashMap<>();
        offered.put("AES", List.of(128, 192, 256));
        offered.put("HMAC-SHA256", List.of(256, 512));
        offered.put("HMAC-SHA384", List.of(384));
        offered.put("HMAC-SHA512", List.of(512));
        OFFERED = Collections.unmodifiableMap(offered);
    }

    private Algorithms() {
    }

    /**
     * The canonical name of an offered algorithm, after checking the size is allowed for it.
     *
     * @throws InvalidInputException if the algorithm is not offered or the size is not allowed for it
     */
    public static String check(String algorithm, int keySizeBits) {
        String canonical = algorithm == null ? null : canonical(algorithm);
        if (canonical == null) {
            throw new InvalidInputException("algorithm", "must be one of " + OFFERED.keySet());
        }
        List<Integer> sizes = OFFERED.get(canonical);
        if (!sizes.contains(keySizeBits)) {
            throw new InvalidInputException("keySize", canonical + " keys must be one of " + sizes + " bits");
        }
        return canonical;
    }

    private static String canonical(String algorithm) {
        String upper = algorithm.toUpperCase(Locale.ROOT);
        return OFFERED.containsKey(upper) ? upper : null;
    }
}
