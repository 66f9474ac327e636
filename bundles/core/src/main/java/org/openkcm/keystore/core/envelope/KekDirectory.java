package org.openkcm.keystore.core.envelope;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.UnavailableException;

/**
 * An immutable snapshot of the KEK providers present: the one that seals new records and, by id,
 * every one that can open. Built once when the set of providers changes, read without locks.
 */
public final class KekDirectory {
    private static final KekDirectory EMPTY = new KekDirectory(null, Map.of(), "no KEK provider is present", Map.of());

    private final KekProvider sealing;
    private final Map<String, KekProvider> byId;
    private final String missing;
    private final Map<String, String> refused;

    private KekDirectory(KekProvider sealing, Map<String, KekProvider> byId, String missing,
            Map<String, String> refused) {
        this.sealing = sealing;
        this.byId = byId;
        this.missing = missing;
        this.refused = refused;
    }

    /**
     * A directory chosen elsewhere (see {@code KekSelection}).
     *
     * @param sealing the provider that seals, or null
     * @param whyNotSealing why none seals, when {@code sealing} is null
     * @param openers by KEK id, the providers that may open
     * @param refused by KEK id, why a KEK id (or some of its versions) may not open
     */
    public static KekDirectory chosen(KekProvider sealing, String whyNotSealing, Map<String, KekProvider> openers,
            Map<String, String> refused) {
        return new KekDirectory(sealing, Collections.unmodifiableMap(new LinkedHashMap<>(openers)),
                sealing == null ? whyNotSealing : null, Collections.unmodifiableMap(new LinkedHashMap<>(refused)));
    }

    public static KekDirectory empty() {
        return EMPTY;
    }

    /** One provider, which seals and opens. */
    public static KekDirectory of(KekProvider provider) {
        return of(List.of(provider), null);
    }

    /**
     * @param ranked the providers present, preferred first (highest service ranking); where two
     *        share an id, the first is used
     * @param sealingKekId the id of the provider that seals, or null or empty for the first
     */
    public static KekDirectory of(List<KekProvider> ranked, String sealingKekId) {
        Map<String, KekProvider> byId = new LinkedHashMap<>();
        for (KekProvider provider : ranked) {
            byId.putIfAbsent(provider.kekId(), provider);
        }
        if (byId.isEmpty()) {
            return EMPTY;
        }
        boolean named = sealingKekId != null && !sealingKekId.isEmpty();
        KekProvider sealing = named ? byId.get(sealingKekId) : byId.values().iterator().next();
        String missing = sealing == null
                ? "the configured sealing KEK '" + sealingKekId + "' is not present (present: " + byId.keySet() + ")"
                : null;
        return new KekDirectory(sealing, Collections.unmodifiableMap(byId), missing, Map.of());
    }

    /** @throws UnavailableException if no provider can seal */
    public KekProvider sealing() {
        if (sealing == null) {
            throw new UnavailableException(missing);
        }
        return sealing;
    }

    /** The provider with that id, or null if none is present. */
    public KekProvider lookup(String kekId) {
        return byId.get(kekId);
    }

    /** Why records under that KEK id cannot be opened here (refused or not allowed), or null. */
    public String refusal(String kekId) {
        return refused.get(kekId);
    }

    /** The ids of the providers present, preferred first. */
    public List<String> kekIds() {
        return List.copyOf(byId.keySet());
    }
}
