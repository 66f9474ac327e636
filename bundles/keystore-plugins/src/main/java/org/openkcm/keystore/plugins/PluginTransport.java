package org.openkcm.keystore.plugins;

import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;

/**
 * The Netty transport of the connections to plugins: epoll where its native library loads (Linux;
 * the bundle carries the library grpc-netty-shaded ships), which takes fewer system calls and
 * wake-ups per call than the JDK's selector; NIO anywhere else. One per process, chosen once.
 */
enum PluginTransport {
    EPOLL, NIO;

    /** The transport of this JVM. */
    static final PluginTransport CURRENT = Epoll.isAvailable() ? EPOLL : NIO;

    /** Why epoll is not used, for the log; empty when it is. */
    static String unavailability() {
        Throwable cause = Epoll.unavailabilityCause();
        return cause == null ? "" : String.valueOf(cause.getMessage());
    }

    /** One I/O thread: the connection to one plugin. */
    EventLoopGroup newEventLoop() {
        return new MultiThreadIoEventLoopGroup(1, this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    }

    Class<? extends Channel> domainSocketChannel() {
        return this == EPOLL ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class;
    }

    Class<? extends Channel> socketChannel() {
        return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The address of a unix socket, in the type this transport's channel connects to. */
    SocketAddress unixSocket(String path) {
        return this == EPOLL ? new DomainSocketAddress(path) : UnixDomainSocketAddress.of(path);
    }
}
