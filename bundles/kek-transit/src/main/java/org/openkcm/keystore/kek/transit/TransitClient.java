package org.openkcm.keystore.kek.transit;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import io.github.jopenlibs.vault.json.ParseException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.secrets.BoundedRead;

/**
 * The OpenBao HTTP API, as far as Transit needs it: JSON requests with the token (and namespace)
 * headers over the JDK's HTTP client, TLS verified against the system's or a configured CA. The
 * token is held only while the provider loads and is never part of a message.
 */
final class TransitClient {
    private final URI address;
    private final String namespace;
    private final Duration timeout;
    private final HttpClient http;
    private final char[] token;

    TransitClient(TransitSettings settings, char[] token) {
        this.address = settings.address;
        this.namespace = settings.namespace;
        this.timeout = settings.timeout;
        this.token = token;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1);
        if (settings.caFile != null) {
            builder.sslContext(trusting(settings.caFile));
        }
        this.http = builder.build();
    }

    /** A response: the HTTP status and the parsed body (an empty object for an empty body). */
    static final class Response {
        final int status;
        final JsonObject body;

        Response(int status, JsonObject body) {
            this.status = status;
            this.body = body;
        }

        /** The server's "errors" joined, for messages (OpenBao never echoes plaintext or tokens there). */
        String errors() {
            JsonValue errors = body.get("errors");
            return errors == null ? "HTTP " + status : "HTTP " + status + " " + errors;
        }

        JsonObject data() {
            JsonValue data = body.get("data");
            if (data == null || !data.isObject()) {
                throw new UnavailableException("OpenBao answered HTTP " + status + " without a data object");
            }
            return data.asObject();
        }
    }

    Response get(String path) {
        return send("GET", path, null);
    }

    Response post(String path, JsonObject body) {
        return send("POST", path, body.toString());
    }

    private Response send(String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(address.resolve("/v1/" + path)).timeout(timeout)
                .header("X-Vault-Token", new String(token)).header("X-Vault-Request", "true")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (!namespace.isEmpty()) {
            request.header("X-Vault-Namespace", namespace);
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UnavailableException("OpenBao at " + address + " cannot be reached (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", null, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted while calling OpenBao at " + address, null, e);
        }
        String text = response.body();
        JsonObject json;
        try {
            json = text == null || text.isBlank() ? new JsonObject() : Json.parse(text).asObject();
        } catch (ParseException | UnsupportedOperationException e) {
            throw new UnavailableException("OpenBao at " + address + " answered HTTP " + response.statusCode()
                    + " with a body that is not a JSON object: is the address that of OpenBao?");
        }
        if (response.statusCode() >= 500 || response.statusCode() == 429) {
            throw new UnavailableException("OpenBao at " + address + " cannot serve " + path + " now: "
                    + new Response(response.statusCode(), json).errors());
        }
        if (response.statusCode() == 403) {
            throw new UnavailableException("OpenBao at " + address + " refused " + method + " " + path + " (permission"
                    + " denied): the token's policy must grant 'read' on transit/keys/<key> and 'update' on"
                    + " transit/encrypt/<key>, transit/decrypt/<key> and transit/rewrap/<key>");
        }
        return new Response(response.statusCode(), json);
    }

    /** Wipes the token; the client cannot be used afterwards. */
    void close() {
        java.util.Arrays.fill(token, '\0');
    }

    private static SSLContext trusting(Path caFile) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            int i = 0;
            for (Certificate c : factory.generateCertificates(new ByteArrayInputStream(
                    BoundedRead.bytes(caFile, BoundedRead.KEY_FILE_BYTES, BoundedRead.Links.FOLLOW)))) {
                store.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new InvalidInputException("tls.ca.file", caFile + " holds no PEM certificate");
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new InvalidInputException("tls.ca.file", "cannot read " + caFile + " (" + e.getClass().getSimpleName() + ")");
        } catch (GeneralSecurityException e) {
            throw new InvalidInputException("tls.ca.file", caFile + " is not a PEM CA certificate ("
                    + e.getClass().getSimpleName() + ")");
        }
    }
}
