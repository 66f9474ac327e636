package org.openkcm.keystore.grpc;

import java.util.concurrent.atomic.AtomicInteger;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Admits calls while the server serves and counts those in flight. Once closed (the bundle or its
 * configuration is stopping), every new call is answered UNAVAILABLE at once while the calls in
 * flight finish, for at most the drain time. It also bounds the calls in flight: past the
 * maximum, new calls are answered RESOURCE_EXHAUSTED.
 */
final class DrainGate implements ServerInterceptor {
    private final int maxConcurrentCalls;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closed;

    DrainGate(int maxConcurrentCalls) {
        this.maxConcurrentCalls = maxConcurrentCalls;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (closed) {
            return refuse(call, Status.UNAVAILABLE.withDescription("the keystore server is stopping; retry"));
        }
        if (inFlight.incrementAndGet() > maxConcurrentCalls) {
            inFlight.decrementAndGet();
            return refuse(call, Status.RESOURCE_EXHAUSTED.withDescription(
                    "more than " + maxConcurrentCalls + " calls in flight; retry"));
        }
        ServerCall.Listener<Q> delegate;
        try {
            delegate = next.startCall(call, headers);
        } catch (RuntimeException e) {
            release();
            throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            private boolean done;

            @Override
            public void onComplete() {
                try {
                    super.onComplete();
                } finally {
                    finish();
                }
            }

            @Override
            public void onCancel() {
                try {
                    super.onCancel();
                } finally {
                    finish();
                }
            }

            private synchronized void finish() {
                if (!done) {
                    done = true;
                    release();
                }
            }
        };
    }

    /** Refuses new calls from now on. */
    void close() {
        closed = true;
    }

    boolean isClosed() {
        return closed;
    }

    int inFlight() {
        return inFlight.get();
    }

    private void release() {
        inFlight.decrementAndGet();
    }

    private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
