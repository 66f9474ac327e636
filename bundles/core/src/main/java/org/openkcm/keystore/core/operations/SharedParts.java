package org.openkcm.keystore.core.operations;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.core.cache.KeyCache;
import org.openkcm.keystore.core.kek.KnownKeks;
import org.openkcm.keystore.core.metrics.Meter;
import org.openkcm.keystore.core.routing.RoutingTable;
import org.openkcm.keystore.core.saga.KeystoreSagas;
import org.openkcm.keystore.core.saga.SagaRunner;
import org.openkcm.keystore.core.sealing.SealingKeystore;
import org.osgi.service.log.Logger;

/**
 * What the administration ({@code org.openkcm.keystore.core.admin}) shares with the operations, so
 * that there is one of each: one saga runner and journal, one key cache, one sealing layer (the envelope over the KEKs
 * chosen and pinned, the record of the revisions seen). Each call reads the operations' state of the
 * moment (a runner or cache given later is the one used). Internal to the core bundle: the package
 * is not exported.
 */
public interface SharedParts {

    /** The routing table in use. @throws org.openkcm.keystore.api.UnavailableException if there is none */
    RoutingTable router();

    /** The routing table in use, or empty (a single backend outside a framework, or none tracked). */
    Optional<RoutingTable> routerIfAny();

    /** The saga runner every multi-step operation runs in. */
    SagaRunner runner();

    /** The saga definitions of the operations. */
    KeystoreSagas sagas();

    /** The sealing layer: checked reads and authenticated writes, for the administrative passes. */
    SealingKeystore sealing();

    /** The key caches in use, or null. */
    KeyCache keyCache();

    /** Forgets what the caches hold of the key. */
    void invalidate(KeyId id);

    /** Forgets everything the caches hold. */
    void invalidateAll();

    /** The record of known KEKs in use. */
    KnownKeks knownKeks();

    /** The logger, or null. */
    Logger logger();

    /** The meter of the calls, or null while the metrics bundle is absent. */
    Meter meter();

    Clock clock();

    /** {@code reconcile.grace.seconds} of the operations' configuration. */
    Duration reconcileGrace();
}
