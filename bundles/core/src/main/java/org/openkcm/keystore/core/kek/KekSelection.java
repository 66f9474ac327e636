package org.openkcm.keystore.core.kek;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.core.envelope.KekDirectory;

/**
 * Chooses, from the KEK providers present, the one that seals and those that may open, and pins
 * each chosen ring's identity against the {@link KnownKeks} record:
 * <ul>
 * <li>the sealing KEK is {@code seal.kek.id}; when that is empty it is the only provider present,
 * and only if the record knows its id, or the record is empty and the provider is one of the core's
 * own (a bundle's provider never seals unless named, even on a fresh install). With more than one provider present and no
 * {@code seal.kek.id}, nothing seals: a bundle that registers a provider (of whatever ranking)
 * can never become the sealing KEK by its arrival;</li>
 * <li>opening accepts only KEK ids on the allow-list: {@code open.kek.ids} if set, else every id
 * in the record, and always the sealing id;</li>
 * <li>two providers with one id are both refused, and a ring whose pin fails ({@link KnownKeks#pin})
 * never seals; it still opens under the versions whose check value matched, which are the keys
 * that sealed those records.</li>
 * </ul>
 * Each refusal is one line starting with {@value #REFUSED}; the core's own KEK off the allow-list
 * with no version in use is not one (idle, see idleOwn).
 */
public final class KekSelection {
    /** How every refusal line starts (the runtime prints such lines on the console at every level). */
    public static final String REFUSED = "KEK refused: ";
    static final String OPERATIONS_PID = "org.openkcm.keystore.operations";

    /**
     * @param directory the KEKs that seal and open
     * @param refusals every refusal, one line each
     * @param retry whether a provider could not be checked now (unreachable, say), so choose again on the next call
     */
    public record Selection(KekDirectory directory, List<String> refusals, boolean retry) {
    }

    private KekSelection() {
    }

    /**
     * @param ranked the providers present, preferred first (their order matters for messages only)
     * @param sealKekId the configured sealing KEK id, or empty
     * @param openKekIds the configured allow-list, or empty for the default
     */
    public static Selection select(List<KekProvider> ranked, String sealKekId, List<String> openKekIds,
            KnownKeks known) {
        Map<String, List<KekProvider>> byId = new LinkedHashMap<>();
        boolean retry = false;
        for (KekProvider provider : ranked) {
            try {
                String id = provider.kekId();
                provider.versions();
                byId.computeIfAbsent(id, k -> new ArrayList<>()).add(provider);
            } catch (KeystoreException notLoaded) {
                retry = true; // not loaded yet, or unreachable: absent for now
            }
        }
        List<String> refusals = new ArrayList<>();
        Map<String, String> refused = new LinkedHashMap<>();
        for (Map.Entry<String, List<KekProvider>> e : byId.entrySet()) {
            if (e.getValue().size() > 1) {
                String line = REFUSED + e.getValue().size() + " KEK providers register the KEK id '" + e.getKey()
                        + "'; none of them seals or opens until only one is left";
                refused.put(e.getKey(), line);
                refusals.add(line);
            }
        }
        String seal = sealKekId == null ? "" : sealKekId.trim();
        String whyNot = null;
        if (!seal.isEmpty()) {
            if (!byId.containsKey(seal)) {
                // not a refusal: providers come and go, and one configured at start may register after the core
                // chose (its configuration arrives on ConfigAdmin's thread); chosen again when it arrives
                whyNot = "the configured sealing KEK '" + seal + "' (seal.kek.id of " + OPERATIONS_PID
                        + ") is not present (present: " + byId.keySet() + "); nothing is sealed until it is";
            }
        } else if (byId.size() > 1) {
            whyNot = REFUSED + byId.size() + " KEK providers are present (" + String.join(", ", byId.keySet())
                    + ") and seal.kek.id of " + OPERATIONS_PID + " is not set: set it to the one that seals; "
                    + "nothing is sealed until then";
        } else if (byId.size() == 1) {
            String only = byId.keySet().iterator().next();
            boolean own = byId.get(only).get(0) instanceof RingKekProvider; // the core's file or reference KEK
            if (known.knows(only) || (known.kekIds().isEmpty() && own)) {
                seal = only;
            } else {
                whyNot = REFUSED + "the only KEK provider present, '" + only + "', is not one this keystore has used "
                        + "(known: " + new TreeSet<>(known.kekIds()) + ")" + (own ? "" : " nor one of the core's own")
                        + "; set seal.kek.id of " + OPERATIONS_PID + " to '" + only + "' to seal under it";
            }
        } else {
            whyNot = "no KEK provider is present";
        }
        if (whyNot == null && refused.containsKey(seal)) {
            whyNot = refused.get(seal);
        }
        if (whyNot != null && whyNot.startsWith(REFUSED) && !refusals.contains(whyNot)) {
            refusals.add(whyNot);
        }
        Set<String> allowed = new TreeSet<>(openKekIds.isEmpty() ? known.kekIds() : openKekIds);
        if (!seal.isEmpty()) {
            allowed.add(seal);
        }
        KekProvider sealing = null;
        Map<String, KekProvider> openers = new LinkedHashMap<>();
        for (Map.Entry<String, List<KekProvider>> e : byId.entrySet()) {
            String id = e.getKey();
            if (e.getValue().size() > 1) {
                continue;
            }
            KekProvider provider = e.getValue().get(0);
            boolean seals = whyNot == null && id.equals(seal);
            if (!seals && !allowed.contains(id)) {
                String line = REFUSED + "the KEK provider '" + id + "' is not on the allow-list of KEKs that may open "
                        + "(open.kek.ids of " + OPERATIONS_PID + ", in force: " + allowed + "); it neither seals nor opens";
                refused.put(id, line);
                if (!idleOwn(provider, id, known)) {
                    refusals.add(line);
                }
                continue;
            }
            KnownKeks.Pin pin;
            try {
                pin = known.pin(provider, seals);
            } catch (KeystoreException e2) {
                retry = true;
                String line = REFUSED + "KEK '" + id + "' cannot be checked against the known-KEK record now: "
                        + e2.getMessage();
                refused.put(id, line);
                refusals.add(line);
                if (seals) {
                    whyNot = line;
                }
                continue;
            }
            if (pin.ok()) {
                openers.put(id, provider);
                if (seals) {
                    sealing = provider;
                }
                continue;
            }
            String line = REFUSED + String.join("; ", pin.problems()) + "; nothing is sealed under KEK '" + id + "'"
                    + (pin.confirmed().isEmpty() ? "" : ", and only its versions " + pin.confirmed() + " open");
            refused.put(id, line);
            refusals.add(line);
            if (!pin.confirmed().isEmpty()) {
                openers.put(id, new ConfirmedVersions(provider, pin.confirmed(), line));
            }
            if (seals) {
                whyNot = line;
            }
        }
        for (String id : known.kekIds()) {
            List<Integer> used = known.usedVersions(id);
            if (!byId.containsKey(id) && !refused.containsKey(id) && !used.isEmpty()) {
                // not a refusal line (a KEK moved away is absent too): what its records say when opened
                refused.put(id, "KEK '" + id + "' is not present, but records may still be sealed under it (versions "
                        + used + " are used in the known-KEK record): no provider registers it now (it is not "
                        + "configured, or it could not load, e.g. while its root key is unreachable)");
            }
        }
        return new Selection(KekDirectory.chosen(sealing, whyNot, openers, refused), List.copyOf(refusals), retry);
    }

    /**
     * The core's own KEK (the key file or the reference), which is always present, with no version
     * the record marks used: idle beside the sealing KEK of another provider (never used, or
     * released by a complete re-wrap). Left off the allow-list it opens nothing, as any other, but
     * that is the expected state after a move, not a refusal to report.
     */
    private static boolean idleOwn(KekProvider provider, String id, KnownKeks known) {
        return provider instanceof RingKekProvider && known.usedVersions(id).isEmpty();
    }
}
