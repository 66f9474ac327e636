package org.openkcm.keystore.grpc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;

/**
 * A mutual-TLS channel to a running keystore daemon, presenting a client certificate of its local
 * CA (by default the admin certificate of its {@code data/tls/}), with a deadline on every call
 * and every failure turned back into the api's exceptions ({@link RemoteFailures}).
 */
final class DaemonChannel implements AutoCloseable {
    private final String target;
    private final Duration callTimeout;
    private final EventLoopGroup loop;
    private final ManagedChannel channel;

    private DaemonChannel(String target, Duration callTimeout, EventLoopGroup loop, ManagedChannel channel) {
        this.target = target;
        this.callTimeout = callTimeout;
        this.loop = loop;
        this.channel = channel;
    }

    /**
     * Opens the channel and asks the daemon's health service once, so that a daemon that is not
     * there (or refuses the certificate) is said at once, in one line.
     *
     * @param target {@code HOST:PORT}, a literal address or a name, e.g. {@code 127.0.0.1:7443}
     * @param certificate the client certificate chain (PEM), {@code key} its PKCS#8 key (PEM)
     * @param ca the CA certificates (PEM) the daemon's server certificate must chain to
     * @throws UnavailableException if no daemon answers, or it does not accept the certificate
     */
    static DaemonChannel connect(String target, Path certificate, Path key, Path ca, Duration connectTimeout,
            Duration callTimeout) throws IOException {
        InetSocketAddress address = address(target);
        for (Path file : List.of(certificate, key, ca)) {
            if (!Files.isReadable(file)) {
                throw new UnavailableException("cannot reach the keystore daemon at " + target + ": cannot read "
                        + file);
            }
        }
        SslContext tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .keyManager(certificate.toFile(), key.toFile()).trustManager(ca.toFile()).build();
        EventLoopGroup loop = new NioEventLoopGroup(1, runnable -> {
            Thread thread = new Thread(runnable, "openkcm-grpc-client");
            thread.setDaemon(true);
            return thread;
        });
        // A socket address, not a target string: no name-resolver provider lookup, which the
        // bundle does not ship (see bnd.bnd). No proxy either: the daemon is reached directly.
        ManagedChannel channel = NettyChannelBuilder.forAddress(address).eventLoopGroup(loop)
                .channelType(NioSocketChannel.class).sslContext(tls).proxyDetector(ignored -> null)
                .maxInboundMessageSize(16 * 1024 * 1024).build();
        DaemonChannel daemon = new DaemonChannel(target, callTimeout, loop, channel);
        try {
            HealthGrpc.newBlockingStub(channel).withDeadlineAfter(connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.getDefaultInstance());
            return daemon;
        } catch (StatusRuntimeException e) {
            daemon.close();
            RuntimeException failure = RemoteFailures.of(e, target);
            if (failure instanceof UnavailableException) {
                throw new UnavailableException("no keystore daemon answers at " + target + " ("
                        + RemoteFailures.transport(e) + ")");
            }
            throw failure;
        } catch (RuntimeException e) {
            daemon.close();
            throw e;
        }
    }

    String target() {
        return target;
    }

    /** Runs a call on the channel within the call deadline; a failed status becomes an api exception. */
    <T> T call(Function<ManagedChannel, T> call) {
        try {
            return call.apply(channel);
        } catch (StatusRuntimeException e) {
            throw RemoteFailures.of(e, target);
        }
    }

    /** The deadline stubs get for one call. */
    long timeoutMillis() {
        return callTimeout.toMillis();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** {@code HOST:PORT}, {@code [IPv6]:PORT}. */
    static InetSocketAddress address(String target) {
        String text = target == null ? "" : target.trim();
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new InvalidInputException("target", "must be HOST:PORT, e.g. 127.0.0.1:7443");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new InvalidInputException("target", "must be HOST:PORT with a numeric port");
        }
        if (port < 1 || port > 65535) {
            throw new InvalidInputException("target", "port must be 1 to 65535");
        }
        return new InetSocketAddress(host, port);
    }
}
