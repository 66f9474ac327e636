package org.openkcm.keystore.core.routing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreHealth;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.core.metrics.Meter;
import org.openkcm.keystore.core.reconcile.AbandonedRecords;

/**
 * The routing state, free of the framework so that tests and benchmarks drive it directly: the
 * {@link Keystore} registrations by {@code keystore.name}, the routing policy, the health of each
 * backend and the key location index.
 * <p>
 * Readers see one immutable {@link Snapshot} in a volatile field and take no lock. Writers (the
 * service tracker, route components, health probes) change the inputs and rebuild the snapshot
 * under {@link #lock}, a lock of ours under which nothing calls the framework or a backend; then
 * they publish it and complete the previous snapshot's {@code next} future, which wakes the
 * requests waiting for a backend to come back (hot swap). Listeners hear of changes on the
 * {@code events} executor, outside the lock.
 * <p>
 * <b>Fail closed.</b> A key of a persistent tier (L2, L3) is never sent to a volatile backend
 * ({@code keystore.persistent=false}) as the default target unless a route in force names that
 * backend for the tier; a key whose route names a backend whose configuration failed (reported by
 * {@link #failedBackends}) is refused at once with that failure; and a key of a tier that a refused
 * route was written for is refused rather than sent to the default target.
 */
public final class RoutingTable {

    /** What the owner of the router hears, on the events executor. */
    public interface Listener {
        /** The set of backend names changed. */
        void namesChanged(Set<String> names);

        /** A backend went down, or came back up. */
        void healthChanged(String name, boolean up, String reason);

        /** The routing policy was refused; the previous one stays in force. */
        void policyRefused(String error);
    }

    /** Settings from configuration. */
    public record Settings(String defaultTarget, Duration swapWait, Duration swapWindow, int failuresToDown) {
    }

    /** One published state of the router. */
    static final class Snapshot {
        final Map<String, Registration> serving;
        /** The service of each ACTIVE name: the one lookup a request makes. */
        final Map<String, Keystore> active;
        final Map<String, BackendStatus.State> states;
        final Map<String, String> downReasons;
        final RoutingPolicy policy;
        final Map<String, Long> departed;
        /** Backend names whose configuration failed, with the reason. */
        final Map<String, String> failed;
        /** Tiers that refused routes were written for, with the refusal, for keys that would fall to the default. */
        final Map<KeyType, String> blocked;
        /** Where placement is shared now, or null: this runtime's index alone. */
        final SharedPlacement placement;
        final CompletableFuture<Void> next = new CompletableFuture<>();

        Snapshot(Map<String, Registration> serving, Map<String, BackendStatus.State> states,
                Map<String, String> downReasons, RoutingPolicy policy, Map<String, Long> departed,
                Map<String, String> failed, Map<KeyType, String> blocked, SharedPlacement placement) {
            this.placement = placement;
            this.failed = failed;
            this.blocked = blocked;
            this.serving = serving;
            this.states = states;
            Map<String, Keystore> act = new HashMap<>();
            states.forEach((name, state) -> {
                if (state == BackendStatus.State.ACTIVE) {
                    act.put(name, serving.get(name).service());
                }
            });
            this.active = Map.copyOf(act);
            this.downReasons = downReasons;
            this.policy = policy;
            this.departed = departed;
        }
    }

    /** The health of one registration; immutable. */
    record Health(int failures, boolean down, String lastReason, Instant lastProbe, Duration latency) {
        static final Health UNKNOWN = new Health(0, false, null, null, null);
    }

    private final Object lock = new Object();
    private final Executor events;
    private final Listener listener;
    private final LocationIndex index;
    private final RoutingKeystore keystore;
    private final long startNanos = System.nanoTime();
    private final Map<Long, Health> health = new ConcurrentHashMap<>();

    // guarded by lock
    private final Map<Long, Registration> registrations = new HashMap<>();
    private final Map<String, Route> routes = new LinkedHashMap<>();
    private final Map<String, String> refusedRoutes = new LinkedHashMap<>();
    private final Map<String, Set<KeyType>> refusedTiers = new LinkedHashMap<>();
    private Map<String, String> failedBackends = Map.of();
    private final Map<String, Long> departed = new HashMap<>();
    private volatile Settings settings;
    private String policyError;
    private Set<String> publishedNames = Set.of();

    private volatile Snapshot snapshot;
    private volatile boolean closed;
    private volatile Supplier<Meter> meter = () -> null;
    private volatile AbandonedRecords abandoned = AbandonedRecords.inMemory();
    /** The placement setting: a backend name, {@link #PLACEMENT_OFF}, or {@link #PLACEMENT_DEFAULT_TARGET}. */
    private volatile String placementSetting = PLACEMENT_OFF;
    private volatile RecentAbsences absences = new RecentAbsences(RecentAbsences.DEFAULT_WINDOW);

    public RoutingTable(Settings settings, LocationIndex index, Executor events, Listener listener) {
        this.settings = settings;
        this.index = index;
        this.events = events;
        this.listener = listener;
        this.snapshot = new Snapshot(Map.of(), Map.of(), Map.of(), RoutingPolicy.of(List.of(),
                settings.defaultTarget()), Map.of(), Map.of(), Map.of(), null);
        this.keystore = new RoutingKeystore(this, index);
    }

    /** Where the calls to backends are reported (the bound meter now, or null: not measured). */
    public void meter(Supplier<Meter> meter) {
        this.meter = meter == null ? () -> null : meter;
    }

    Meter meter() {
        return meter.get();
    }

    /** The {@link Keystore} that routes every call to the right backend. */
    public Keystore keystore() {
        return keystore;
    }

    public LocationIndex index() {
        return index;
    }

    /** The records this runtime sent to a backend and gave up on: the evidence reconciliation needs to delete. */
    public AbandonedRecords abandoned() {
        return abandoned;
    }

    /** Where abandoned records are kept (a file beside the location index in a runtime; memory by default). */
    public void abandoned(AbandonedRecords ledger) {
        this.abandoned = ledger == null ? AbandonedRecords.inMemory() : ledger;
    }

    /** The placement setting that turns shared placement off: placement is this runtime's index alone. */
    public static final String PLACEMENT_OFF = "none";
    /** The placement setting that keeps it in the default target, while that is registered as persistent. */
    public static final String PLACEMENT_DEFAULT_TARGET = "default-target";

    /** {@link #sharedPlacement(String, Duration)} with the default absence window (1 s). */
    public void sharedPlacement(String backend) {
        sharedPlacement(backend, RecentAbsences.DEFAULT_WINDOW);
    }

    /**
     * Where every key's placement is kept as well as in the local index, for all runtimes sharing
     * the backends ({@link SharedPlacement}): the backend named {@code backend};
     * {@value #PLACEMENT_DEFAULT_TARGET}: the default target, while it is registered as persistent
     * (not {@code keystore.persistent=false}); {@value #PLACEMENT_OFF}, empty or null (the default):
     * nowhere, placement is this runtime's index alone and a key it does not know is looked for in
     * every backend. Off by default: with placement shared, every store also writes the placement
     * backend, so a store to any backend waits for that one (and fails while it is away).
     *
     * @param absentFor while placement is shared, how long a key found in no backend is answered
     *            "not found" without asking every backend again (zero: never)
     */
    public void sharedPlacement(String backend, Duration absentFor) {
        synchronized (lock) {
            placementSetting = backend == null || backend.isBlank() ? PLACEMENT_OFF : backend.trim();
            absences = new RecentAbsences(absentFor);
            publish();
        }
    }

    /** The shared placement in use now, or null. */
    SharedPlacement placement() {
        return snapshot.placement;
    }

    /** The keys recently found in no backend (see {@link #sharedPlacement(String, Duration)}). */
    RecentAbsences absences() {
        return absences;
    }

    /** Tests: remembered absences on a clock of their own. */
    void absences(RecentAbsences absences) {
        this.absences = absences;
    }

    /** The backend that holds the shared placement now, or null if placement is not shared. */
    public String sharedPlacementBackend() {
        SharedPlacement p = snapshot.placement;
        return p == null ? null : p.backend();
    }

    /** Where placement is kept, in words, for the log. */
    public String placementDescription() {
        String setting = placementSetting;
        SharedPlacement p = snapshot.placement;
        if (setting.equalsIgnoreCase(PLACEMENT_OFF)) {
            return "off (placement.backend=" + PLACEMENT_OFF + "): this runtime's index alone";
        }
        if (!setting.equalsIgnoreCase(PLACEMENT_DEFAULT_TARGET)) {
            return "in " + setting;
        }
        String target = settings.defaultTarget();
        if (p != null) {
            return "in " + p.backend() + " (the default target, persistent)";
        }
        if (target.isEmpty()) {
            return "off: no default target to keep it in";
        }
        Registration r = snapshot.serving.get(target);
        return r == null ? "in the default target " + target + " once it is registered, if it is persistent"
                : "off: the default target " + target + " is volatile (" + org.openkcm.keystore.api.KeystoreProperties.PERSISTENT
                        + "=false)";
    }

    /** Whether the backend takes keys of the tier ({@code keystore.tiers}; a backend not serving now is not refused here). */
    boolean takesTier(String backend, KeyType tier) {
        Registration r = snapshot.serving.get(backend);
        return r == null || r.tiers().isEmpty() || r.tiers().contains(tier.name());
    }

    /**
     * Places the key (of {@code tier}) in {@code backend}: the local index and, if shared and the
     * placement backend takes the tier, the shared placement, which every other runtime reads. A
     * failure is thrown (the caller compensates).
     */
    public void place(KeyId id, String backend, KeyType tier) {
        index.put(id, backend);
        absences.forget(id);
        SharedPlacement p = snapshot.placement;
        if (p != null) {
            p.record(id, tier, backend);
        }
    }

    /**
     * Switches the key (of {@code tier}) from {@code from} to {@code to}, a migration's switch: the
     * local index, then the shared placement only if it still names {@code from} (compare-and-set).
     * The index goes first, as in {@link #place}: a process that dies in between left the index on
     * {@code to}, which the undo of the switch finds and puts back.
     *
     * @return where the key is placed now: {@code to}, or the backend another runtime's migration
     *         switched it to meanwhile (the index then follows that one); a failure is thrown
     */
    public String switchPlacement(KeyId id, KeyType tier, String from, String to) {
        index.put(id, to);
        absences.forget(id);
        SharedPlacement p = snapshot.placement;
        String placed = p == null ? to : p.switchTo(id, tier, from, to);
        if (!placed.equals(to)) {
            index.put(id, placed);
        }
        return placed;
    }

    /** Whether the id names a shared-placement record rather than a key: never listed, migrated or reconciled. */
    public static boolean placementRecord(KeyId id) {
        return SharedPlacement.reserved(id);
    }

    // ------------------------------------------------------------------ inputs

    public void settings(Settings settings) {
        synchronized (lock) {
            this.settings = settings;
            rebuildPolicy();
            publish();
        }
    }

    /** A registration appeared, or its properties or service object changed. */
    public void put(Registration registration) {
        synchronized (lock) {
            registrations.put(registration.serviceId(), registration);
            publish();
        }
    }

    /** A registration went away. */
    public void remove(long serviceId) {
        synchronized (lock) {
            Registration gone = registrations.remove(serviceId);
            health.remove(serviceId);
            if (gone != null && gone.name() != null) {
                departed.put(gone.name(), System.nanoTime());
            }
            publish();
        }
    }

    /** A route was added or changed (null route: its configuration was refused, with the error; every tier). */
    public void putRoute(String name, Route route, String error) {
        putRoute(name, route, error, EnumSet.allOf(KeyType.class));
    }

    /**
     * A route was added or changed. A null route means its configuration was refused, with the
     * error: the version of the route in force before, if any, stays in force, and keys of the
     * {@code tiers} it was written for that no route in force matches are refused instead of
     * going to the default target.
     */
    public void putRoute(String name, Route route, String error, Set<KeyType> tiers) {
        synchronized (lock) {
            if (route == null) {
                refusedRoutes.put(name, error);
                refusedTiers.put(name, tiers == null || tiers.isEmpty() ? EnumSet.allOf(KeyType.class)
                        : EnumSet.copyOf(tiers));
            } else {
                routes.put(name, route);
                refusedRoutes.remove(name);
                refusedTiers.remove(name);
            }
            rebuildPolicy();
            publish();
        }
    }

    /**
     * The backend names whose configuration failed (a component that failed to activate), with the
     * reason: keys routed to them are refused at once, naming the reason, instead of waiting.
     */
    public void failedBackends(Map<String, String> failed) {
        synchronized (lock) {
            if (failed.equals(failedBackends)) {
                return;
            }
            failedBackends = Map.copyOf(failed);
            publish();
        }
    }

    public void removeRoute(String name) {
        synchronized (lock) {
            routes.remove(name);
            refusedRoutes.remove(name);
            refusedTiers.remove(name);
            rebuildPolicy();
            publish();
        }
    }

    /** The outcome of one health probe of a registration. */
    public void probed(long serviceId, KeystoreHealth result, String failure, Duration latency) {
        boolean up = failure == null && result != null && result.isUp();
        String reason = up ? null : failure != null ? failure : result.reason().orElse("down");
        String name;
        boolean changed;
        Health now;
        synchronized (lock) {
            Registration r = registrations.get(serviceId);
            if (r == null) {
                return;
            }
            name = r.name();
            Health before = health.getOrDefault(serviceId, Health.UNKNOWN);
            int failures = up ? 0 : before.failures() + 1;
            boolean down = up ? false : before.down() || failures >= settings.failuresToDown();
            now = new Health(failures, down, up ? before.lastReason() : reason, Instant.now(), latency);
            health.put(serviceId, now);
            changed = down != before.down();
            if (changed) {
                publish();
            }
        }
        if (changed) {
            events.execute(() -> listener.healthChanged(name, !now.down(), now.lastReason()));
        }
    }

    /** The registrations whose service object could not be got, to ask for again. */
    public List<Long> unavailable() {
        List<Long> out = new ArrayList<>();
        synchronized (lock) {
            registrations.values().forEach(r -> {
                if (r.service() == null) {
                    out.add(r.serviceId());
                }
            });
        }
        return out;
    }

    /** The registrations to probe: every one whose service object is known. */
    public List<Registration> probeable() {
        synchronized (lock) {
            List<Registration> out = new ArrayList<>();
            registrations.values().forEach(r -> {
                if (r.service() != null && r.name() != null) {
                    out.add(r);
                }
            });
            return out;
        }
    }

    /** Stops the router: requests waiting for a backend are answered unavailable now. */
    public void close() {
        synchronized (lock) {
            closed = true;
            publish();
        }
    }

    // ------------------------------------------------------------------ rebuilding (under lock)

    private void rebuildPolicy() {
        try {
            RoutingPolicy.of(routes.values(), settings.defaultTarget()); // checked first: refused as a whole
            policyError = null;
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().equals(policyError)) {
                String error = e.getMessage();
                events.execute(() -> listener.policyRefused(error));
            }
            policyError = e.getMessage();
        }
    }

    private void publish() {
        Map<String, Registration> serving = new HashMap<>();
        for (Registration r : registrations.values()) {
            if (r.name() == null || r.name().isEmpty()) {
                continue;
            }
            Registration current = serving.get(r.name());
            if (current == null || r.outranks(current)) {
                serving.put(r.name(), r);
            }
        }
        Map<String, BackendStatus.State> states = new HashMap<>();
        Map<String, String> reasons = new HashMap<>();
        serving.forEach((name, r) -> {
            Health h = health.getOrDefault(r.serviceId(), Health.UNKNOWN);
            if (r.service() == null) {
                states.put(name, BackendStatus.State.UNAVAILABLE);
            } else if (h.down()) {
                states.put(name, BackendStatus.State.DOWN);
                reasons.put(name, h.lastReason());
            } else {
                states.put(name, BackendStatus.State.ACTIVE);
            }
        });
        serving.keySet().forEach(departed::remove);
        RoutingPolicy policy = snapshot.policy;
        if (policyError == null) {
            policy = RoutingPolicy.of(routes.values(), settings.defaultTarget());
        }
        Map<KeyType, String> blocked = new HashMap<>();
        refusedTiers.forEach((route, tiers) -> tiers.forEach(tier -> blocked.putIfAbsent(tier,
                "route " + route + " is refused (" + refusedRoutes.get(route) + ")")));
        if (policyError != null) {
            for (KeyType tier : KeyType.values()) {
                blocked.putIfAbsent(tier, "the configured routing policy is refused (" + policyError + ")");
            }
        }
        Snapshot previous = snapshot;
        snapshot = new Snapshot(Map.copyOf(serving), Map.copyOf(states), Map.copyOf(reasons), policy,
                Map.copyOf(departed), failedBackends, Map.copyOf(blocked), placement(serving, policy, previous.placement));
        previous.next.complete(null);
        Set<String> names = new TreeSet<>(serving.keySet());
        if (!names.equals(publishedNames)) {
            publishedNames = Set.copyOf(names);
            events.execute(() -> listener.namesChanged(names));
        }
    }

    /**
     * Where placement is shared in the state being published: the named backend; none when off;
     * for {@value #PLACEMENT_DEFAULT_TARGET}, the default target while its registration says it is persistent. While
     * the default target is not registered (starting, or a bundle swap) the previous choice stands.
     */
    private SharedPlacement placement(Map<String, Registration> serving, RoutingPolicy policy, SharedPlacement before) {
        String setting = placementSetting;
        String backend;
        if (setting.equalsIgnoreCase(PLACEMENT_OFF)) {
            return null;
        } else if (!setting.equalsIgnoreCase(PLACEMENT_DEFAULT_TARGET)) {
            backend = setting;
        } else {
            Route fallback = policy.fallback();
            if (fallback == null) {
                return null;
            }
            backend = fallback.target();
            Registration r = serving.get(backend);
            if (r == null) {
                return before != null && before.backend().equals(backend) ? before : null;
            }
            if (r.isVolatile()) {
                return null;
            }
        }
        return before != null && before.backend().equals(backend) ? before : new SharedPlacement(this, backend);
    }

    // ------------------------------------------------------------------ reading (no lock)

    Snapshot snapshot() {
        return snapshot;
    }

    /** The route a new key with this metadata takes now; PolicyRefusedException if none. */
    public Route routeFor(KeyMetadata metadata) {
        Route route = snapshot.policy.routeFor(metadata);
        if (route == null) {
            throw new PolicyRefusedException(metadata.id(), "no route matches the key (tier " + metadata.type()
                    + ", owner " + metadata.owner() + ") and no default target is configured");
        }
        return route;
    }

    /** Tiers whose keys are kept where they survive a restart: never a volatile backend by default. */
    static boolean persistentTier(KeyType tier) {
        return tier == KeyType.L2 || tier == KeyType.L3;
    }

    /**
     * The backend a new key goes to on {@code route} ({@link #routeFor}), fail closed: a key that
     * falls to the default target while a refused route was written for its tier, a key whose
     * backend's configuration failed or that has no backend, and a key of a persistent tier that
     * would fall to a volatile default target are refused with an {@link UnavailableException}
     * that names the backend and why; nothing is sent anywhere else.
     */
    public Keystore backendFor(Route route, KeyMetadata metadata) {
        Snapshot s = snapshot;
        KeyType tier = metadata.type();
        boolean fallback = route.isFallback();
        if (fallback && s.blocked.containsKey(tier)) {
            throw new UnavailableException("no route in force for " + tier + " keys: " + s.blocked.get(tier)
                    + "; they are refused rather than sent to the default target " + route.target()
                    + " until the route is fixed", metadata.id(), null);
        }
        Keystore backend = s.active.get(route.target());
        if (backend == null) {
            backend = awaitBackend(route.target(), route.target() + " for " + tier, metadata.id(), s);
        }
        if (fallback && persistentTier(tier)) {
            Registration serving = snapshot.serving.get(route.target());
            if (serving != null && serving.isVolatile() && !namedFor(snapshot.policy, route.target(), tier)) {
                throw new UnavailableException("backend " + route.target() + " for " + tier + " is not available: "
                        + "it is the default target and volatile (" + org.openkcm.keystore.api.KeystoreProperties.PERSISTENT
                        + "=false), and no route names it for " + tier + "; route " + tier
                        + " keys to a persistent backend (or name " + route.target() + " in a route for " + tier
                        + " to accept losing them at a restart)", metadata.id(), null);
            }
        }
        return backend;
    }

    /** Whether a route in force names {@code target} for {@code tier} explicitly. */
    private static boolean namedFor(RoutingPolicy policy, String target, KeyType tier) {
        for (Route r : policy.routes()) {
            if (r.target().equals(target) && r.tiers().contains(tier)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The backend serving {@code name}: at once if it is active; UnavailableException at once if it
     * is down or was never seen; if it left recently (a bundle update or restart) or its service
     * object is not ready, waits up to the configured bound for it to come back.
     */
    public Keystore backend(String name, KeyId key) {
        Snapshot s = snapshot;
        Keystore active = s.active.get(name);
        if (active != null) {
            return active;
        }
        return awaitBackend(name, name, key, s);
    }

    /** The backend serving {@code name} if it is active now, else null; never waits. */
    public Keystore activeBackend(String name) {
        return snapshot.active.get(name);
    }

    /** @param label the backend as messages name it: its name, or "its name for L2" */
    private Keystore awaitBackend(String name, String label, KeyId key, Snapshot s) {
        Settings config = settings();
        long deadline = System.nanoTime() + config.swapWait().toNanos();
        while (true) {
            if (closed) {
                throw new UnavailableException("the keystore router is stopping", key, null);
            }
            Registration r = s.serving.get(name);
            BackendStatus.State state = s.states.get(name);
            if (r != null && state == BackendStatus.State.ACTIVE) {
                return r.service();
            }
            if (state == BackendStatus.State.DOWN) {
                throw new UnavailableException("backend " + label + " is down: " + s.downReasons.get(name), key, null);
            }
            String failure = s.failed.get(name);
            if (failure != null) {
                throw new UnavailableException("backend " + label + " is not available: its configuration failed: "
                        + failure, key, null);
            }
            if (r == null && !mayReturn(s, name, config)) {
                throw new UnavailableException(label.equals(name) ? "no backend named " + name + " is registered"
                        : "backend " + label + " is not available: no backend of that name is registered", key, null);
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw new UnavailableException("backend " + label + (r == null ? " did not come back" : " was not ready")
                        + " within " + config.swapWait().toMillis() + " ms", key, null);
            }
            try {
                s.next.get(remaining, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // loop once more: the deadline check answers
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UnavailableException("interrupted while waiting for backend " + name, key, e);
            } catch (ExecutionException e) {
                throw new IllegalStateException(e); // never completed exceptionally
            }
            s = snapshot;
        }
    }

    /** A name that left within the swap window, or any name while the router itself is starting, may come back. */
    private boolean mayReturn(Snapshot s, String name, Settings config) {
        long now = System.nanoTime();
        Long left = s.departed.get(name);
        if (left != null && now - left < config.swapWindow().toNanos()) {
            return true;
        }
        return now - startNanos < config.swapWait().toNanos();
    }

    private Settings settings() {
        return settings;
    }

    /** The backend names serving now, the default target first. */
    public List<String> servingNames() {
        Snapshot s = snapshot;
        List<String> names = new ArrayList<>(new TreeSet<>(s.serving.keySet()));
        Route fallback = s.policy.fallback();
        if (fallback != null && names.remove(fallback.target())) {
            names.add(0, fallback.target());
        }
        return names;
    }

    BackendStatus.State state(String name) {
        return snapshot.states.get(name);
    }

    // ------------------------------------------------------------------ the administrative picture

    public List<BackendStatus> statuses() {
        Snapshot s = snapshot;
        List<Registration> all;
        synchronized (lock) {
            all = new ArrayList<>(registrations.values());
        }
        all.sort(Comparator.comparing((Registration r) -> r.name() == null ? "" : r.name())
                .thenComparing((a, b) -> a.outranks(b) ? -1 : b.outranks(a) ? 1 : 0));
        List<BackendStatus> out = new ArrayList<>(all.size());
        for (Registration r : all) {
            if (r.name() == null) {
                continue;
            }
            Registration serving = s.serving.get(r.name());
            BackendStatus.State state;
            if (serving == null || serving.serviceId() != r.serviceId()) {
                state = BackendStatus.State.SHADOWED;
            } else {
                state = s.states.getOrDefault(r.name(), BackendStatus.State.UNAVAILABLE);
            }
            Health h = health.getOrDefault(r.serviceId(), Health.UNKNOWN);
            out.add(BackendStatus.builder().name(r.name()).state(state).serviceId(r.serviceId()).ranking(r.ranking())
                    .bundle(r.bundleSymbolicName(), r.bundleVersion()).tiers(r.tiers()).regions(r.regions())
                    .properties(r.properties()).health(h.failures(), h.lastReason(), h.lastProbe(), h.latency())
                    .build());
        }
        return out;
    }

    public List<RouteDescription> describeRoutes() {
        Snapshot s = snapshot;
        List<RouteDescription> out = new ArrayList<>();
        Set<String> inForce = new TreeSet<>();
        s.policy.routes().forEach(r -> inForce.add(r.name()));
        Map<String, Route> configured;
        Map<String, String> refused;
        String error;
        synchronized (lock) {
            configured = new LinkedHashMap<>(routes);
            refused = new LinkedHashMap<>(refusedRoutes);
            error = policyError;
        }
        for (Route r : s.policy.routes()) {
            out.add(r.describe(true, null));
        }
        List<Route> pending = new ArrayList<>();
        for (Route r : configured.values()) {
            if (!inForce.contains(r.name()) || !r.equals(findRoute(s.policy.routes(), r.name()))) {
                pending.add(r);
            }
        }
        pending.sort(Comparator.comparing(Route::name));
        for (Route r : pending) {
            out.add(r.describe(false, error == null ? "not in force" : error));
        }
        refused.forEach((name, why) -> out.add(new RouteDescription(name, List.of(), null, null, null, null, 0, 0,
                "?", false, why)));
        if (s.policy.fallback() != null) {
            out.add(s.policy.fallback().describe(true, null));
        }
        return out;
    }

    /** The error that refused the configured policy, or null if the configured policy is in force. */
    public String policyError() {
        synchronized (lock) {
            return policyError;
        }
    }

    private static Route findRoute(Collection<Route> routes, String name) {
        for (Route r : routes) {
            if (r.name().equals(name)) {
                return r;
            }
        }
        return null;
    }
}
