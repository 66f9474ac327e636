package org.openkcm.keystore.api;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The administrative view of the keystore, implemented by the core bundle alone (so
 * {@link ProviderType}): the backends it tracks and their health, the routing policy in force,
 * migration of keys to where the policy now sends them, KEK re-wrapping, the cache counters and
 * reconciliation of what backends hold against what the keystore knows. The shell prints it.
 */
@ProviderType
public interface KeystoreAdministration {

    /** Every tracked backend service, in name then ranking order: serving, shadowed, down or unavailable. */
    List<BackendStatus> backends();

    /** The routes in force, most specific first, then the default route; refused routes are listed with their error. */
    List<RouteDescription> routes();

    /**
     * The {@code keystore.name} of the backend that holds the key, as the keystore recorded it
     * when the key was stored, moved or last found; empty if it has no record of the key. It is
     * what the keystore believes, not a read of the backend.
     *
     * @since 1.1
     */
    default Optional<String> locationOf(KeyId id) {
        return Optional.empty();
    }

    /**
     * Moves every key that the filter matches (ownership, tier, region, status, tags; paging is
     * ignored) and that is stored elsewhere than where the routing policy now sends it: copy,
     * verify at the target, switch its location, delete the source. A failure at any step leaves
     * exactly one readable copy; the key is reported as failed and the run goes on.
     *
     * @param filter which keys to consider, or null for all
     * @param progress receives an interim report every so many keys, or null
     */
    MigrationReport migrate(KeyFilter filter, Consumer<MigrationReport> progress);

    /** Re-wraps every key of every backend under the sealing KEK's current version. */
    RewrapReport rewrapAll();

    /** The cache counters, per layer (records, material) and tier; empty when nothing is cached. */
    List<CacheStatistics> cacheStatistics();

    /**
     * Compares, for every active backend, what it holds with what the keystore knows of it (the key
     * location index, and the operations still open in the intent journal): orphans, unknown keys,
     * keys missing, keys in doubt. Only an orphan, a key holding a record this runtime wrote and
     * abandoned, is ever deleted; a key merely absent from the location index (another runtime's,
     * on a shared backend) is reported as unknown and kept. With {@code remove}, every orphan found
     * is deleted (the evidence checked again just before) and every missing key forgotten, as
     * {@link #reconcile(Collection)} does with the ids of all of this run's findings.
     */
    List<ReconciliationReport> reconcile(boolean remove);

    /**
     * Reconciles as {@link #reconcile(boolean) reconcile(false)} does, then removes only the findings
     * named (their ids as an earlier report printed them, {@link ReconciliationReport#ids()}): an
     * orphan is deleted, a missing key forgotten, each only if its evidence still holds now. A named
     * finding that does not hold any more is listed among the report's failures with the reason, and
     * nothing is done for it.
     *
     * @param remove the finding ids to remove; empty for a report only
     * @throws InvalidInputException if an id is not a finding id (nothing is removed)
     * @since 1.2
     */
    default List<ReconciliationReport> reconcile(Collection<String> remove) {
        if (remove.isEmpty()) {
            return reconcile(false);
        }
        throw new UnsupportedOperationException("removal by finding id is not supported by this implementation");
    }
}
