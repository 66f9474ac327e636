package org.openkcm.keystore.core.metrics;

import java.util.function.Supplier;

/** Times a call and reports it to a meter, if there is one; with none, only runs it. */
public final class Measured {

    private Measured() {
    }

    public static <T> T operation(Meter meter, String operation, Supplier<T> call) {
        if (meter == null) {
            return call.get();
        }
        long start = System.nanoTime();
        try {
            T result = call.get();
            meter.operation(operation, Meter.OK, System.nanoTime() - start);
            return result;
        } catch (RuntimeException | Error e) {
            meter.operation(operation, e.getClass().getSimpleName(), System.nanoTime() - start);
            throw e;
        }
    }

    public static <T> T backendCall(Meter meter, String backend, String call, Supplier<T> work) {
        if (meter == null) {
            return work.get();
        }
        long start = System.nanoTime();
        try {
            T result = work.get();
            meter.backendCall(backend, call, Meter.OK, System.nanoTime() - start);
            return result;
        } catch (RuntimeException | Error e) {
            meter.backendCall(backend, call, e.getClass().getSimpleName(), System.nanoTime() - start);
            throw e;
        }
    }
}
