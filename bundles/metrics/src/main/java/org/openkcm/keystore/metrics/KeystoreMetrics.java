package org.openkcm.keystore.metrics;

import java.util.function.LongSupplier;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The measurements of one keystore, registered by the metrics bundle and called by the core on
 * every call. Implementations must be fast and must not throw: they are on the path of every
 * operation.
 */
@ProviderType
public interface KeystoreMetrics {

    /** The outcome of a call that succeeded; a failed call reports its exception's simple class name. */
    String OK = "ok";

    /**
     * One call of {@code KeystoreOperations} or {@code KeystoreAdministration} ended.
     *
     * @param operation the operation, e.g. {@code get}, {@code generate}, {@code rewrap}
     * @param outcome {@link #OK}, or the simple class name of the failure, e.g. {@code KeyNotFoundException}
     * @param nanos how long it took
     */
    void operation(String operation, String outcome, long nanos);

    /**
     * One call the core made to a backend ended.
     *
     * @param backend the backend's name ({@code keystore.name})
     * @param call the {@code Keystore} method, e.g. {@code retrieveKey}
     * @param outcome {@link #OK}, or the simple class name of the failure
     * @param nanos how long it took
     */
    void backendCall(String backend, String call, String outcome, long nanos);

    /**
     * Where to read the number of operations begun in the intent journal and not ended; null when
     * the journal goes away. Read at each scrape.
     */
    void openIntents(LongSupplier source);
}
