package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.openkcm.keystore.openbao.testing.OpenBaoDevServer;

/**
 * An HTTP proxy in front of a real OpenBao server that answers chosen requests with injected
 * failures (a status, or a stall) and forwards everything else, so that failure paths are tested
 * by injecting faults, against real OpenBao semantics for the rest.
 */
final class FaultProxy implements AutoCloseable {
    /** One injected fault: the status to answer (0: stall until the client gives up), for requests matching. */
    private static final class Fault {
        final int status;
        final Predicate<String> matches;
        final boolean forwardFirst;

        Fault(int status, Predicate<String> matches, boolean forwardFirst) {
            this.status = status;
            this.matches = matches;
            this.forwardFirst = forwardFirst;
        }
    }

    private final HttpServer http;
    private final HttpClient upstream = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String target;
    private final Deque<Fault> faults = new ConcurrentLinkedDeque<>();
    final List<String> seen = new CopyOnWriteArrayList<>();

    FaultProxy(String target) throws IOException {
        this.target = target;
        this.http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fault-proxy");
            t.setDaemon(true);
            return t;
        }));
        http.createContext("/", this::handle);
        http.start();
    }

    String address() {
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    /** The next request whose "METHOD path" matches gets this status instead of being forwarded. */
    void inject(int status, Predicate<String> matches) {
        faults.add(new Fault(status, matches, false));
    }

    /** The next matching request is forwarded (and applied) but answered with this status: a lost answer. */
    void applyThenFail(int status, Predicate<String> matches) {
        faults.add(new Fault(status, matches, true));
    }

    /** The next matching request is held without an answer until the client gives up. */
    void stall(Predicate<String> matches) {
        faults.add(new Fault(0, matches, false));
    }

    int pendingFaults() {
        return faults.size();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String line = exchange.getRequestMethod() + " " + exchange.getRequestURI();
        seen.add(line);
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readAllBytes();
        }
        Fault fault = null;
        for (Fault f : faults) {
            if (f.matches.test(line) && faults.remove(f)) {
                fault = f;
                break;
            }
        }
        if (fault != null && fault.status == 0) {
            OpenBaoDevServer.pause(30_000);
            exchange.close();
            return;
        }
        if (fault != null && !fault.forwardFirst) {
            byte[] error = ("{\"errors\":[\"injected " + fault.status + "\"]}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(fault.status, error.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(error);
            }
            return;
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI()))
                .timeout(Duration.ofSeconds(30))
                .method(exchange.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (String header : new String[] {"X-Vault-Token", "X-Vault-Namespace", "X-Vault-Request", "Content-Type"}) {
            String value = exchange.getRequestHeaders().getFirst(header);
            if (value != null) {
                request.header(header, value);
            }
        }
        try {
            HttpResponse<byte[]> response = upstream.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (fault != null) {
                byte[] error = ("{\"errors\":[\"injected " + fault.status + " after applying\"]}")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(fault.status, error.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(error);
                }
                return;
            }
            byte[] answer = response.body();
            response.headers().firstValue("Content-Type")
                    .ifPresent(type -> exchange.getResponseHeaders().add("Content-Type", type));
            exchange.sendResponseHeaders(response.statusCode(), answer.length == 0 ? -1 : answer.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exchange.close();
        }
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
