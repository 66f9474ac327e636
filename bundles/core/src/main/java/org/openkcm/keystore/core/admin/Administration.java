package org.openkcm.keystore.core.admin;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreException;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.api.Validation;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.envelope.KekRef;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.metrics.Measured;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.sealing.KekRewrapper;
import org.openkcm.keystore.core.operations.SharedParts;
import org.openkcm.keystore.core.reconcile.ReconcileReport;
import org.openkcm.keystore.core.reconcile.Reconciler;
import org.openkcm.keystore.core.routing.LocationIndex;
import org.openkcm.keystore.core.migration.Migrator;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.core.saga.KeystoreSagas;
import org.openkcm.keystore.core.saga.SagaResult;

/**
 * The administration of the keystore, framework-free: backends and routes (the {@link RoutingTable}),
 * migration ({@link Migrator}), KEK re-wrap ({@link KekRewrapper}, run as a saga), the cache
 * counters ({@link KeyCache}) and reconciliation ({@link Reconciler}). It works on the parts it
 * shares with the operations ({@link SharedParts}): their saga runner, cache and sealing layer, so that what it writes is seen by the operations and the reverse. In a framework
 * {@link AdministrationComponent} registers one; outside one (tests, benchmarks), {@link #of}.
 */
public final class Administration implements KeystoreAdministration {
    private final SharedParts parts;

    public Administration(SharedParts parts) {
        this.parts = Validation.required("parts", parts);
    }

    /** The administration of the given operations, sharing their parts. */
    public static Administration of(DefaultKeystoreOperations operations) {
        return new Administration(operations.shared());
    }

    @Override
    public List<BackendStatus> backends() {
        return parts.router().statuses();
    }

    @Override
    public List<RouteDescription> routes() {
        return parts.router().describeRoutes();
    }

    @Override
    public Optional<String> locationOf(KeyId id) {
        Validation.required("keyId", id);
        return parts.routerIfAny().map(r -> r.index().get(id));
    }

    // --------------------------------------------------------------- re-wrap

    /** Re-wraps every key of the backends under the sealing KEK's current version; see {@link KekRewrapper}. */
    @Override
    public RewrapReport rewrapAll() {
        return Measured.operation(parts.meter(), "rewrap", this::rewrapAllNow);
    }

    private RewrapReport rewrapAllNow() {
        // no sealing KEK (refused, or not chosen): refused before anything is journaled
        KekProvider sealing = parts.sealing().envelope().keks().sealing();
        String target = new KekRef(sealing.kekId(), sealing.currentVersion()).toString();
        // journaled with its target: a run a crash interrupted is run again by recovery (current keys are
        // skipped), but only while that target still seals
        AtomicReference<Object> outcome = new AtomicReference<>();
        SagaResult result = parts.runner().run(parts.sagas().kekRewrap(), List.of(),
                Map.of(KeystoreSagas.TARGET, target), Map.of(KeystoreSagas.REPORT, outcome));
        if (result.state() != SagaResult.State.COMMITTED) {
            throw result.failure();
        }
        if (outcome.get() instanceof RuntimeException refused) {
            throw refused; // the KEK choice changed after the check above: nothing was done, nothing is left open
        }
        RewrapReport done = (RewrapReport) outcome.get();
        if (done.complete()) {
            // nothing is sealed under any other KEK version now: each may leave its ring
            KekRef reached = new KekRef(done.kekId(), done.kekVersion());
            parts.knownKeks().released(reached);
            Logs.info(parts.logger(), "KEK re-wrap complete: every KEK but {} may now be removed", reached);
        }
        return done;
    }

    // --------------------------------------------------------------- migration

    @Override
    public MigrationReport migrate(KeyFilter filter, Consumer<MigrationReport> progress) {
        return Measured.operation(parts.meter(), "migrate", () -> migrateNow(filter, progress));
    }

    private MigrationReport migrateNow(KeyFilter filter, Consumer<MigrationReport> progress) {
        try {
            // each key's move is journaled: a crash part-way is finished or undone by recovery
            return new Migrator(parts.router(), parts.sealing().envelope(), parts.logger(), parts.runner(),
                    parts::invalidate, parts.sealing()).run(filter, progress);
        } finally {
            parts.invalidateAll(); // records carry the backend they were read from
        }
    }

    // --------------------------------------------------------------- cache

    @Override
    public List<CacheStatistics> cacheStatistics() {
        KeyCache cache = parts.keyCache();
        return cache == null ? List.of() : cache.statistics().tiers();
    }

    // --------------------------------------------------------------- reconciliation

    @Override
    public List<ReconciliationReport> reconcile(boolean remove) {
        return Measured.operation(parts.meter(), "reconcile",
                () -> reconcileNow(remove ? id -> true : id -> false, Map.of()));
    }

    @Override
    public List<ReconciliationReport> reconcile(Collection<String> remove) {
        Validation.required("remove", remove);
        return Measured.operation(parts.meter(), "reconcile", () -> {
            Map<String, Reconciler.FindingId> named = new LinkedHashMap<>();
            List<String> serving = parts.router().servingNames();
            for (String text : remove) {
                Reconciler.FindingId id = Reconciler.parseId(text); // every id is checked before anything is removed
                if (!serving.contains(id.backend())) {
                    throw new InvalidInputException("id", "'" + text + "' names backend " + id.backend()
                            + ", which is not active here");
                }
                named.put(text, id);
            }
            return reconcileNow(named::containsKey, named);
        });
    }

    /**
     * @param remove true for the id of a finding to remove
     * @param named the ids a caller named (to report those that are no finding of this run), or empty
     */
    private List<ReconciliationReport> reconcileNow(Predicate<String> remove, Map<String, Reconciler.FindingId> named) {
        RoutingTable r = parts.router();
        LocationIndex index = r.index();
        Reconciler reconciler = new Reconciler(parts.logger(), parts.clock());
        List<ReconciliationReport> out = new ArrayList<>();
        for (String name : r.servingNames()) {
            Keystore backend = r.activeBackend(name);
            if (backend == null) {
                Logs.warn(parts.logger(), "Reconciliation: backend {} is not active; skipped", name);
                continue;
            }
            ReconcileReport report = reconciler.reconcile(name, backend, index.keysIn(name),
                    id -> name.equals(index.get(id)), () -> parts.runner().journal().unfinished(),
                    parts.reconcileGrace(), r.abandoned(), remove);
            report.removed().forEach(parts::invalidate);
            Map<KeyId, String> failures = new LinkedHashMap<>(report.failures());
            List<KeyId> forgotten = new ArrayList<>();
            for (Map.Entry<KeyId, String> missing : report.missing().entrySet()) {
                if (remove.test(missing.getValue())) {
                    forgetMissing(name, backend, index, missing.getKey()).ifPresentOrElse(
                            why -> failures.put(missing.getKey(), "not forgotten: " + why),
                            () -> forgotten.add(missing.getKey()));
                }
            }
            for (Reconciler.FindingId id : named.values()) {
                boolean found = id.orphan() ? id.text().equals(report.orphans().get(id.key()))
                        : id.text().equals(report.missing().get(id.key()));
                if (id.backend().equals(name) && !found) {
                    failures.put(id.key(), "not removed: " + id.text() + " is not a finding of this run ("
                            + (id.orphan()
                                    ? "it holds no record this runtime abandoned, or another record than the one named"
                                    : "the keystore no longer places it there, or the backend holds it") + ")");
                }
            }
            Map<KeyId, String> ids = new TreeMap<>(report.orphans());
            ids.putAll(report.missing());
            out.add(new ReconciliationReport(name, report.held(), report.known(),
                    List.copyOf(report.orphans().keySet()), report.recent(), report.inDoubt(),
                    List.copyOf(report.missing().keySet()), report.removed(), failures, forgotten, report.unknown(), ids));
        }
        return out;
    }

    /**
     * Drops the location record of a key the backend no longer holds (a volatile backend that
     * restarted lost it, or another runtime deleted it): it is read once more from that backend
     * just before, and forgotten only if still recorded there and still not found.
     *
     * @return why it was not forgotten, or empty if it was
     */
    private Optional<String> forgetMissing(String name, Keystore backend, LocationIndex index, KeyId id) {
        if (!name.equals(index.get(id))) {
            return Optional.of("the keystore no longer places it in " + name);
        }
        try {
            backend.retrieveKey(id);
            return Optional.of(name + " holds it again");
        } catch (KeyNotFoundException gone) {
            // forget it below
        } catch (KeystoreException e) {
            Logs.warn(parts.logger(), "Reconciliation of {}: missing key {} not checked again: {}", name, id,
                    e.getMessage());
            return Optional.of("it cannot be checked now (" + e.getMessage() + ")");
        }
        index.remove(id, name);
        parts.invalidate(id);
        parts.sealing().forgetRevision(id);
        Logs.info(parts.logger(), "Reconciliation of {}: missing key {} forgotten (no longer held there)", name, id);
        return Optional.empty();
    }
}
