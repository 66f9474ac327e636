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
    private static final KekDirectory EMPTY = new KekDirectory(null, Map.of(), "no KEK provider is present");

    private final KekProvider sealing;
    private final Map<String, KekProvider> byId;
    private final String missing;

    private KekDirectory(KekProvider sealing, Map<String, KekProvider> byId, String missing) {
        this.sealing = sealing;
        this.byId = byId;
        this.missing = missing;
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
        return new KekDirectory(sealing, Collections.unmodifiableMap(byId), missing);
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

    /** The ids of the providers present, preferred first. */
    public List<String> kekIds() {
        return List.copyOf(byId.keySet());
    }
}
