package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonArray;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;

/**
 * The HTTP side of one configuration: one {@link HttpClient} (connection pool, TLS context,
 * connect timeout) shared by the vault-java-driver calls and by the few calls made directly,
 * and the rules that sort an answer or a failure into "done", "try again" or "give up".
 * <p>
 * Direct calls ({@link #send}) exist where the driver does not fit: {@code sys/health} and
 * login must be bounded as a whole (the driver bounds only the wait for a response), and
 * paginated LIST, metadata DELETE and destroy need the exact status, which the driver's helpers
 * fold into exception messages. They go through the same client, so the pool and TLS are shared.
 */
final class Transport implements AutoCloseable {
    /** What to do with one attempt's outcome. */
    enum Verdict {
        /** An answer the caller interprets (2xx, 400, 404, …). */
        ANSWER,
        /** A transient failure: connection error, 5xx, 429 or 412. */
        RETRY,
        /** 403: refused by policy, or the token is no longer valid. */
        DENIED,
        /** Nothing a retry can fix (TLS trust failure, unexpected status). */
        FATAL
    }

    private static final AtomicInteger CLIENTS = new AtomicInteger();
    static final long IDLE_THREAD_SECONDS = 5;

    final OpenBaoSettings settings;
    final HttpClient http;
    /** The cluster's nodes and the one in use: every call, direct or through the driver, goes there. */
    final Addresses addresses;
    private final ExecutorService executor;

    Transport(OpenBaoSettings settings, SSLContext sslContext) {
        this.settings = settings;
        this.addresses = new Addresses(settings.addresses);
        int id = CLIENTS.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "openkcm-openbao-" + settings.name + "-" + id + "-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // No core threads and a short keep-alive: once this transport is closed and its last call has
        // returned, the pool empties itself (see close()).
        this.executor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_THREAD_SECONDS, TimeUnit.SECONDS,
                new SynchronousQueue<>(), factory);
        HttpClient.Builder builder = HttpClient.newBuilder()
                // HTTP/1.1 as the driver chooses by default: proxies in front of OpenBao (agent) mishandle h2c.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(executor);
        if (settings.address.startsWith("https://")) {
            builder.sslContext(sslContext);
        }
        this.http = builder.build();
    }

    /** One answer: status and body. */
    static class Reply {
        final int status;
        final byte[] body;
        private JsonObject json;

        Reply(int status, byte[] body) {
            this.status = status;
            this.body = body == null ? new byte[0] : body;
        }

        /** The body as a JSON object, or an empty object if it is not one. */
        JsonObject json() {
            if (json == null) {
                try {
                    JsonValue value = Json.parse(new String(body, StandardCharsets.UTF_8));
                    json = value.isObject() ? value.asObject() : new JsonObject();
                } catch (RuntimeException e) {
                    json = new JsonObject();
                }
            }
            return json;
        }

        /** OpenBao's "errors" array joined, or the HTTP status alone. */
        String describe() {
            StringBuilder text = new StringBuilder("HTTP ").append(status);
            JsonValue errors = json().get("errors");
            if (errors != null && errors.isArray()) {
                JsonArray array = errors.asArray();
                String sep = ": ";
                for (JsonValue error : array) {
                    if (error.isString() && !error.asString().isBlank()) {
                        text.append(sep).append(oneLine(error.asString()));
                        sep = "; ";
                    }
                }
            }
            return text.toString();
        }

        boolean isCasMismatch() {
            return status == 400 && describe().contains("check-and-set");
        }
    }

    /**
     * One direct HTTP exchange, bounded as a whole by {@code timeout}. No retry here.
     *
     * @param apiPath the path after {@code /v1/}, with its query if any (already encoded)
     * @param token the token, or null for an unauthenticated call
     * @param namespace the OpenBao namespace of the call ({@code X-Vault-Namespace}); null or empty for the root
     */
    Reply send(String method, String apiPath, String token, JsonObject body, Duration timeout, String namespace)
            throws IOException, InterruptedException, TimeoutException {
        String address = addresses.current();
        try {
            Reply reply = send(address, method, apiPath, token, body, timeout, namespace);
            if (nodeFailed(reply.status)) {
                addresses.failedOver(address);
            }
            return reply;
        } catch (IOException | TimeoutException e) {
            if (nodeFailed(e)) {
                addresses.failedOver(address);
            }
            throw e;
        }
    }

    /**
     * True for a failed exchange after which another node may serve: no connection or no answer (but
     * not a TLS trust failure, which every node would repeat), or an answer of {@link #nodeFailed(int)}.
     */
    static boolean nodeFailed(Throwable failure) {
        if (failure instanceof VaultException && ((VaultException) failure).getHttpStatusCode() > 0) {
            return nodeFailed(((VaultException) failure).getHttpStatusCode());
        }
        return !(failure instanceof InterruptedException) && verdict(failure) == Verdict.RETRY;
    }

    /**
     * True for an answer that says this node cannot serve now, though another node of the cluster
     * may: sealed (503), no active node to forward to (500, or a 307 redirect to the active node when
     * forwarding failed), or a gateway in front of it that lost it (502, 504).
     */
    static boolean nodeFailed(int status) {
        return status == 307 || status == 500 || status == 502 || status == 503 || status == 504;
    }

    private Reply send(String address, String method, String apiPath, String token, JsonObject body,
            Duration timeout, String namespace) throws IOException, InterruptedException, TimeoutException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(address + "/v1/" + apiPath))
                .timeout(timeout)
                .header("X-Vault-Request", "true");
        if (token != null) {
            request.header("X-Vault-Token", token);
        }
        if (namespace != null && !namespace.isEmpty()) {
            request.header("X-Vault-Namespace", namespace);
        }
        if (body != null) {
            request.header("Content-Type", "application/json");
            request.method(method, HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8));
        } else {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        }
        CompletableFuture<HttpResponse<byte[]>> future =
                http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        try {
            HttpResponse<byte[]> response = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new Reply(response.statusCode(), response.body());
        } catch (TimeoutException e) {
            future.cancel(true);
            throw e;
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException) {
                throw (IOException) cause;
            }
            throw new IOException(cause);
        }
    }

    /** Whether an answered status is final, transient, or a refusal. */
    static Verdict verdict(int status) {
        if (status == 403) {
            return Verdict.DENIED;
        }
        // 307: a standby that could not forward to the active node redirects to it (this client does not follow)
        if (status >= 500 || status == 429 || status == 412 || status == 307) {
            return Verdict.RETRY;
        }
        if (status >= 200 && status < 500) {
            return Verdict.ANSWER;
        }
        return Verdict.FATAL;
    }

    /** Whether a failed exchange (no answer, or a driver exception) may succeed if tried again. */
    static Verdict verdict(Throwable failure) {
        if (failure instanceof VaultException) {
            int status = ((VaultException) failure).getHttpStatusCode();
            if (status > 0) {
                return verdict(status) == Verdict.ANSWER ? Verdict.FATAL : verdict(status);
            }
        }
        if (isUntrusted(failure) || clientCertificateRefused(failure)) {
            return Verdict.FATAL;
        }
        return Verdict.RETRY;
    }

    /** True if the failure may have happened after OpenBao applied the request. */
    static boolean mayHaveApplied(Throwable failure) {
        if (failure instanceof VaultException && ((VaultException) failure).getHttpStatusCode() > 0) {
            int status = ((VaultException) failure).getHttpStatusCode();
            return status == 500 || status == 502 || status == 504;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof HttpConnectTimeoutException
                    || t instanceof SSLHandshakeException) {
                return false;
            }
        }
        return true;
    }

    /** A short, secret-free description of a failed exchange. */
    static String describe(Throwable failure) {
        if (failure instanceof VaultException && ((VaultException) failure).getHttpStatusCode() > 0) {
            return new Reply(((VaultException) failure).getHttpStatusCode(), body(failure)).describe();
        }
        if (isUntrusted(failure)) {
            return "TLS: the server certificate is not trusted (check tls.ca.file, or that the address is the"
                    + " OpenBao server): " + oneLine(rootCause(failure).getMessage());
        }
        if (clientCertificateRefused(failure)) {
            return "TLS: the server requires a client certificate it trusts (tls.client.cert.file and"
                    + " tls.client.key.file): " + oneLine(rootCause(failure).getMessage());
        }
        if (resetByPeer(failure)) {
            // Under TLS 1.3 a server that refuses the client's certificate (or its absence) does so after
            // the client finished its handshake: the client sees the alert, or only the reset that follows it.
            return "the server reset the connection (" + oneLine(rootCause(failure).getMessage()) + "); a server that"
                    + " requires a client certificate resets one that offers none it trusts (tls.client.cert.file and"
                    + " tls.client.key.file)";
        }
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof HttpConnectTimeoutException) {
                return "no connection within the connect timeout (HttpConnectTimeoutException)";
            }
            if (t instanceof ConnectException) {
                return "cannot connect: refused or unreachable (ConnectException"
                        + (t.getMessage() == null ? "" : ": " + oneLine(t.getMessage())) + ")";
            }
            if (t instanceof TimeoutException || t instanceof HttpTimeoutException) {
                return "no answer within the timeout";
            }
        }
        Throwable root = rootCause(failure);
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + oneLine(message));
    }

    /** The response body a driver exception carries in its message, or nothing. */
    static byte[] body(Throwable failure) {
        String message = failure.getMessage() == null ? "" : failure.getMessage();
        int body = message.indexOf("Response body:");
        return body < 0 ? new byte[0]
                : message.substring(body + "Response body:".length()).trim().getBytes(StandardCharsets.UTF_8);
    }

    private static boolean isUntrusted(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof CertPathValidatorException
                    || (t instanceof SSLHandshakeException && String.valueOf(t.getMessage()).contains("PKIX"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** The server ended the handshake because it wants a client certificate, or not the one given. */
    private static boolean resetByPeer(Throwable failure) {
        Throwable root = rootCause(failure);
        return root instanceof java.net.SocketException && String.valueOf(root.getMessage()).contains("reset");
    }

    private static boolean clientCertificateRefused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SSLException) {
                String message = String.valueOf(t.getMessage());
                if (message.contains("certificate_required") || message.contains("bad_certificate")
                        || message.contains("unknown_ca") || message.contains("certificate_unknown")
                        || message.contains("certificate_expired") || message.contains("certificate_revoked")) {
                    return true;
                }
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    private static Throwable rootCause(Throwable failure) {
        Throwable t = failure;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    static String oneLine(String text) {
        if (text == null) {
            return "";
        }
        String line = text.replaceAll("\\s+", " ").trim();
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }

    /**
     * Leaves the executor running: the JDK client completes a call already in flight (each bounded
     * by its request timeout) through tasks it submits to this executor, and a shut-down executor
     * rejects them, so the call would never return and a backend updated under load would hang
     * its callers. The keystore refuses new calls once closed; the pool's threads end
     * {@value #IDLE_THREAD_SECONDS} s after the last call.
     */
    @Override
    public void close() {
        // nothing to release eagerly; see above
    }
}
