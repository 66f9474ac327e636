package org.openkcm.keystore.core.sealing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.core.envelope.Envelope;
import org.openkcm.keystore.core.kek.KekSelection;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.kek.RingKekProvider;
import org.openkcm.keystore.core.log.Logs;
import org.osgi.framework.Constants;
import org.osgi.service.log.Logger;

/**
 * The envelope over the KEK providers present now: which KEK seals and which may open, chosen and
 * pinned by {@link KekSelection} from the providers (each with its service properties, as DS gives
 * them), {@code seal.kek.id}, {@code open.kek.ids} and the record of known KEKs. The choice is kept
 * until any of it changes (a provider comes or goes, a ring is loaded again, the configuration
 * changes) or a refusal asked to be tried again. Each refusal is logged once, as an error, when it
 * appears.
 */
public final class KekChoice {
    private final Supplier<List<Map.Entry<Map<String, Object>, KekProvider>>> providers;
    private final Supplier<KnownKeks> known;
    private final Supplier<Logger> logger;
    private volatile String sealKekId = "";
    private volatile List<String> openKekIds = List.of();
    /** The KEK refusals in force and logged: each is logged once, when it appears. */
    private final Set<String> refusalsLogged = ConcurrentHashMap.newKeySet();
    private volatile Chosen chosen;

    /**
     * The envelope built for one state of the providers: the list given, each ring loaded
     * ({@link RingKekProvider#ringIdentity}) or each other provider's versions, and the KEK
     * configuration.
     */
    private record Chosen(List<Map.Entry<Map<String, Object>, KekProvider>> source, String sealKekId,
            List<String> openKekIds, Object[] marks, boolean retry, Envelope envelope) {
    }

    /**
     * @param providers the KEK providers with their service properties, read at each call (a list
     *            replaced, never changed in place, when the set of services changes)
     */
    public KekChoice(Supplier<List<Map.Entry<Map<String, Object>, KekProvider>>> providers, Supplier<KnownKeks> known,
            Supplier<Logger> logger) {
        this.providers = providers;
        this.known = known;
        this.logger = logger;
    }

    /** {@code seal.kek.id}: the id of the provider that seals (empty: the only one present). */
    public void sealWith(String kekId) {
        this.sealKekId = kekId == null ? "" : kekId.trim();
    }

    /** {@code open.kek.ids}: the ids that may open (empty: the sealing KEK and every KEK known). */
    public void openWith(List<String> kekIds) {
        this.openKekIds = List.copyOf(kekIds);
    }

    /** The envelope over the KEK providers present now; each refusal is logged once, as an error. */
    public Envelope envelope() {
        List<Map.Entry<Map<String, Object>, KekProvider>> source = providers.get();
        Chosen c = chosen;
        if (c == null || c.retry || !unchanged(c, source)) {
            String seal = sealKekId;
            List<String> open = openKekIds;
            Object[] marks = marks(source);
            List<KekProvider> present = new ArrayList<>();
            for (KekProvider p : ranked(source)) {
                try {
                    present.add(p instanceof RingKekProvider ring ? ring.snapshot() : p);
                } catch (KeystoreException notLoaded) {
                    // a ring not loaded (yet): absent
                }
            }
            KekSelection.Selection selection = KekSelection.select(present, seal, open, known.get());
            refusalsLogged.retainAll(selection.refusals()); // one that was resolved is said again if it returns
            for (String refusal : selection.refusals()) {
                if (refusalsLogged.add(refusal)) {
                    Logs.error(logger.get(), "{}", refusal);
                }
            }
            c = new Chosen(source, seal, open, marks, selection.retry(), new Envelope(selection.directory()));
            chosen = c;
        }
        return c.envelope;
    }

    /** Whether nothing the choice depends on changed since {@code c} (no allocation for the core's rings). */
    private boolean unchanged(Chosen c, List<Map.Entry<Map<String, Object>, KekProvider>> source) {
        if (c.source != source || !c.sealKekId.equals(sealKekId) || c.openKekIds != openKekIds) {
            return false;
        }
        for (int i = 0; i < c.marks.length; i++) {
            Object mark = c.marks[i];
            KekProvider p = source.get(i).getValue();
            if (p instanceof RingKekProvider ring ? ring.ringIdentity() != mark : !mark(p).equals(mark)) {
                return false;
            }
        }
        return true;
    }

    /** Per provider: the ring loaded (compared by identity), or another provider's id and versions. */
    private static Object[] marks(List<Map.Entry<Map<String, Object>, KekProvider>> source) {
        Object[] marks = new Object[source == null ? 0 : source.size()];
        for (int i = 0; i < marks.length; i++) {
            KekProvider p = source.get(i).getValue();
            marks[i] = p instanceof RingKekProvider ring ? ring.ringIdentity() : mark(p);
        }
        return marks;
    }

    private static Object mark(KekProvider p) {
        try {
            return List.of(p.kekId(), p.versions(), p.currentVersion());
        } catch (KeystoreException unavailable) {
            return "unavailable";
        }
    }

    /** By {@code service.ranking}, highest first, then by {@code service.id}, oldest first. */
    private static List<KekProvider> ranked(List<Map.Entry<Map<String, Object>, KekProvider>> source) {
        if (source == null) {
            return List.of();
        }
        List<Map.Entry<Map<String, Object>, KekProvider>> sorted = new ArrayList<>(source);
        sorted.sort(Comparator.<Map.Entry<Map<String, Object>, KekProvider>>comparingInt(e -> -ranking(e.getKey()))
                .thenComparingLong(e -> serviceId(e.getKey())));
        List<KekProvider> out = new ArrayList<>(sorted.size());
        sorted.forEach(e -> out.add(e.getValue()));
        return out;
    }

    private static int ranking(Map<String, Object> props) {
        return props.get(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0;
    }

    private static long serviceId(Map<String, Object> props) {
        return props.get(Constants.SERVICE_ID) instanceof Long l ? l : Long.MAX_VALUE;
    }
}
