package org.openkcm.keystore.core.metrics;

/**
 * Where the core reports what it measures: the calls of its operations and the calls it makes to
 * backends. A core-private type, so the classes that measure never name the optional metrics
 * package: only {@link MetricsBridge} does, and it is loaded only when that package is wired.
 */
public interface Meter {

    /** The outcome of a call that succeeded; a failed one reports its exception's simple class name. */
    String OK = "ok";

    void operation(String operation, String outcome, long nanos);

    void backendCall(String backend, String call, String outcome, long nanos);
}
