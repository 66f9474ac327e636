package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;

import io.github.jopenlibs.vault.api.Logical;
import io.github.jopenlibs.vault.api.WriteOptions;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonArray;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import io.github.jopenlibs.vault.response.LogicalResponse;

/**
 * The KV v2 operations the keystore needs, each with the retry budget and the mapping of
 * answers onto the contract's exceptions: 403 is refused by policy (after checking the token is
 * still valid, and replacing it if not), 404 is "absent", a check-and-set mismatch is reported
 * to the caller, transient failures are retried with backoff and jitter, and an exhausted
 * budget is {@link UnavailableException}.
 * <p>
 * Reads and writes of secrets (the hot path) go through vault-java-driver; LIST with
 * pagination, metadata DELETE and destroy are direct calls on the same HTTP client (see
 * {@link Transport}). Paths are relative to the mount.
 */
final class Kv {
    /** A KV v2 secret as read: its data and its current version. */
    static final class Secret {
        final JsonObject data;
        final long version;

        Secret(JsonObject data, long version) {
            this.data = data;
            this.version = version;
        }
    }

    /** The outcome of a check-and-set write. */
    static final class Write {
        /** The new version, or 0 if the check-and-set did not match. */
        final long version;
        /** True if an earlier attempt of this write may have been applied before its answer was lost. */
        final boolean uncertain;

        Write(long version, boolean uncertain) {
            this.version = version;
            this.uncertain = uncertain;
        }

        boolean written() {
            return version > 0;
        }
    }

    /**
     * A write that found no KV mount to write to: the namespace does not exist, or has no mount
     * at this path. Not a {@code KeystoreException}: the keystore creates what is missing (see
     * {@link Namespaces}) and writes again, or reports why it may not.
     */
    static final class MissingMount extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String namespace;
        /** True if the namespace itself is missing, false if only the mount is. */
        final boolean namespaceMissing;

        MissingMount(String namespace, boolean namespaceMissing, String answer) {
            super((namespaceMissing ? "namespace " : "no KV mount in namespace ") + shown(namespace) + ": " + answer,
                    null, false, false);
            this.namespace = namespace;
            this.namespaceMissing = namespaceMissing;
        }
    }

    /** One attempt of an operation, given the session to use. */
    private interface Attempt {
        Transport.Reply run(Auth.Session session) throws Exception;
    }

    private final OpenBaoSettings settings;
    private final Transport transport;
    private final Auth auth;
    private final String mount;
    private final Duration timeout;

    Kv(OpenBaoSettings settings, Transport transport, Auth auth) {
        this.settings = settings;
        this.transport = transport;
        this.auth = auth;
        this.mount = settings.kvMount;
        this.timeout = Duration.ofSeconds(settings.readTimeoutSeconds);
    }

    /**
     * The current version of a secret, or null if there is none (never written, deleted, or its
     * namespace or mount does not exist).
     */
    Secret read(String what, KeyId id, String namespace, String path) {
        Outcome outcome = execute(what, id, namespace, path, session -> driver(session, namespace,
                logical -> logical.read(mount + "/" + path)));
        Transport.Reply reply = outcome.reply;
        if (reply.status == 404) {
            return null;
        }
        if (reply.status != 200) {
            throw unexpected(what, id, namespace, path, reply);
        }
        LogicalResponse response = ((DriverReply) reply).response;
        JsonObject data = response.getDataObject();
        Long version = response.getDataMetadata().getVersion();
        if (data == null || version == null) {
            return null; // the current version is deleted or destroyed
        }
        return new Secret(data, version);
    }

    /**
     * Writes a secret if its current version is {@code cas} (0: only if it does not exist).
     *
     * @return the new version, or a {@link Write} that is not {@link Write#written() written} if the
     *         check-and-set did not match
     * @throws MissingMount for a create ({@code cas=0}) if the namespace or its KV mount does not exist
     */
    Write write(String what, KeyId id, String namespace, String path, Map<String, Object> data, long cas) {
        WriteOptions options = new WriteOptions().checkAndSet(cas);
        Outcome outcome = execute(what, id, namespace, path, session -> driver(session, namespace,
                logical -> logical.write(mount + "/" + path, data, null, options)));
        Transport.Reply reply = outcome.reply;
        if (reply.status == 200 || reply.status == 204) {
            String version = ((DriverReply) reply).response.getData().get("version");
            try {
                return new Write(version == null ? cas + 1 : Long.parseLong(version), outcome.uncertain);
            } catch (NumberFormatException e) {
                return new Write(cas + 1, outcome.uncertain);
            }
        }
        if (reply.isCasMismatch()) {
            return new Write(0, outcome.uncertain);
        }
        if (reply.status == 404 && cas == 0) {
            throw new MissingMount(namespace, reply.describe().contains("namespace not found"), reply.describe());
        }
        throw unexpected(what, id, namespace, path, reply);
    }

    /** Deletes a secret's metadata and with it every version, permanently. Absent is fine. */
    void deleteAll(String what, KeyId id, String namespace, String path) {
        Outcome outcome = execute(what, id, namespace, path, session -> transport.send("DELETE",
                mount + "/metadata/" + path, session.token, null, timeout, namespace));
        int status = outcome.reply.status;
        if (status != 204 && status != 200 && status != 404) {
            throw unexpected(what, id, namespace, path, outcome.reply);
        }
    }

    /** Destroys one version of a secret (its data is gone; its number stays in the metadata). */
    void destroy(String what, KeyId id, String namespace, String path, long version) {
        JsonObject body = Json.object().add("versions", new JsonArray().add(version));
        Outcome outcome = execute(what, id, namespace, path, session -> transport.send("POST",
                mount + "/destroy/" + path, session.token, body, timeout, namespace));
        int status = outcome.reply.status;
        if (status != 204 && status != 200 && status != 404) {
            throw unexpected(what, id, namespace, path, outcome.reply);
        }
    }

    /**
     * A call to a system path ({@code sys/namespaces/…}, {@code sys/mounts/…}) of a namespace,
     * within the retry budget; 403 is {@link PolicyRefusedException} naming {@code what}.
     *
     * @return the answer (2xx, 400, 404, …) for the caller to interpret
     */
    Transport.Reply system(String what, KeyId id, String namespace, String method, String apiPath, JsonObject body) {
        return execute(what, id, namespace, null, session -> transport.send(method, apiPath, session.token,
                body == null ? new JsonObject() : body, timeout, namespace)).reply;
    }

    /**
     * One page of the names under a directory, in OpenBao's (byte) order, strictly after
     * {@code after}. An OpenBao that ignores {@code after}/{@code limit} returns everything; the
     * caller copes with both.
     */
    List<String> list(String what, String namespace, String directory, String after, int limit) {
        StringBuilder query = new StringBuilder("?list=true&limit=").append(limit);
        if (after != null) {
            query.append("&after=").append(URLEncoder.encode(after, StandardCharsets.UTF_8));
        }
        String apiPath = mount + "/metadata/" + directory + "/" + query;
        Outcome outcome = execute(what, null, namespace, directory,
                session -> transport.send("GET", apiPath, session.token, null, timeout, namespace));
        Transport.Reply reply = outcome.reply;
        if (reply.status == 404) {
            return List.of();
        }
        if (reply.status != 200) {
            throw unexpected(what, null, namespace, directory, reply);
        }
        List<String> names = new ArrayList<>();
        JsonValue data = reply.json().get("data");
        JsonValue keys = data != null && data.isObject() ? data.asObject().get("keys") : null;
        if (keys != null && keys.isArray()) {
            for (JsonValue key : keys.asArray()) {
                if (key.isString()) {
                    names.add(key.asString());
                }
            }
        }
        return names;
    }

    private static final class Outcome {
        final Transport.Reply reply;
        final boolean uncertain;

        Outcome(Transport.Reply reply, boolean uncertain) {
            this.reply = reply;
            this.uncertain = uncertain;
        }
    }

    /** A driver answer seen as a {@link Transport.Reply}. */
    private static final class DriverReply extends Transport.Reply {
        final LogicalResponse response;

        DriverReply(LogicalResponse response) {
            super(response.getRestResponse().getStatus(), response.getRestResponse().getBody());
            this.response = response;
        }
    }

    /**
     * Runs an operation within the retry budget. Returns the first answer that is not transient
     * (2xx, 400, 404, …); turns 403 into {@link PolicyRefusedException} unless the token turns
     * out to be invalid, in which case it is replaced once and the attempt repeated.
     */
    private Outcome execute(String what, KeyId id, String namespace, String path, Attempt attempt) {
        boolean uncertain = false;
        boolean replacedToken = false;
        String last = "no attempt";
        Throwable lastFailure = null;
        for (int n = 1; n <= settings.retry.maxAttempts; n++) {
            Auth.Session session = auth.session();
            Transport.Reply reply;
            try {
                reply = attempt.run(session);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UnavailableException(describe(what, namespace, path) + ": interrupted", id, e);
            } catch (Exception e) {
                Throwable failure = unwrap(e);
                if (failure instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    throw new UnavailableException(describe(what, namespace, path) + ": interrupted", id, failure);
                }
                if (failure instanceof io.github.jopenlibs.vault.VaultException
                        && ((io.github.jopenlibs.vault.VaultException) failure).getHttpStatusCode() == 404) {
                    // The driver throws on some answers it does not expect, 404 among them.
                    return new Outcome(new Transport.Reply(404, Transport.body(failure)), uncertain);
                }
                lastFailure = failure;
                last = Transport.describe(failure);
                if (Transport.verdict(failure) == Transport.Verdict.FATAL) {
                    throw new UnavailableException(describe(what, namespace, path) + " failed: " + last, id, failure);
                }
                uncertain |= Transport.mayHaveApplied(failure);
                backoff(what, id, namespace, path, n);
                continue;
            }
            switch (Transport.verdict(reply.status)) {
                case ANSWER:
                    return new Outcome(reply, uncertain);
                case DENIED:
                    if (!replacedToken && !tokenValid(what, id, namespace, path, session)) {
                        auth.replace(session); // throws UnavailableException if no valid token can be had
                        replacedToken = true;
                        n--; // a replaced token does not use up the retry budget
                        continue;
                    }
                    throw new PolicyRefusedException(id, describe(what, namespace, path)
                            + " was refused by the OpenBao policy of this backend's token (" + reply.describe() + ")");
                case RETRY:
                    last = reply.describe();
                    lastFailure = null;
                    uncertain |= reply.status == 500 || reply.status == 502 || reply.status == 504;
                    backoff(what, id, namespace, path, n);
                    continue;
                default:
                    throw unexpected(what, id, namespace, path, reply);
            }
        }
        throw new UnavailableException(describe(what, namespace, path) + " failed after " + settings.retry.maxAttempts
                + " attempts; last: " + last, id, lastFailure);
    }

    private boolean tokenValid(String what, KeyId id, String namespace, String path, Auth.Session session) {
        try {
            return auth.isValid(session, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException(describe(what, namespace, path) + ": interrupted", id, e);
        } catch (IOException | TimeoutException e) {
            throw new UnavailableException(describe(what, namespace, path)
                    + " was refused (HTTP 403) and the token could not"
                    + " be checked: " + Transport.describe(e), id, e);
        }
    }

    private void backoff(String what, KeyId id, String namespace, String path, int failedAttempt) {
        if (failedAttempt >= settings.retry.maxAttempts) {
            return;
        }
        try {
            Thread.sleep(settings.retry.backoff(failedAttempt).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException(describe(what, namespace, path) + ": interrupted while backing off", id, e);
        }
    }

    private UnavailableException unexpected(String what, KeyId id, String namespace, String path,
            Transport.Reply reply) {
        return new UnavailableException(describe(what, namespace, path) + ": unexpected answer from OpenBao: "
                + reply.describe(),
                id, null);
    }

    private String describe(String what, String namespace, String path) {
        String where = namespace == null || namespace.isEmpty() ? "" : " in namespace " + namespace;
        return path == null ? what + where : what + " at " + mount + "/" + path + where;
    }

    /** A namespace as messages show it; the empty one is the root. */
    static String shown(String namespace) {
        return namespace == null || namespace.isEmpty() ? "(root)" : namespace;
    }

    /** One driver call. */
    private interface DriverCall {
        LogicalResponse run(Logical logical) throws Exception;
    }

    /**
     * One driver call to the node in use; a failure of that node (as {@link Transport#send} judges
     * direct calls) moves the next attempt to the next node of the cluster.
     */
    private DriverReply driver(Auth.Session session, String namespace, DriverCall call) throws Exception {
        String address = transport.addresses.current();
        DriverReply reply;
        try {
            reply = new DriverReply(call.run(logical(session.vault(address), namespace)));
        } catch (Exception e) {
            if (Transport.nodeFailed(unwrap(e))) {
                transport.addresses.failedOver(address);
            }
            throw e;
        }
        if (Transport.nodeFailed(reply.status)) {
            transport.addresses.failedOver(address);
        }
        return reply;
    }

    /** The driver's logical operations in a namespace (per request: one driver configuration serves all). */
    private static Logical logical(io.github.jopenlibs.vault.VaultConfig vault, String namespace) {
        Logical logical = new Logical(vault);
        return namespace == null || namespace.isEmpty() ? logical : logical.withNameSpace(namespace);
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        // The driver wraps transport failures: VaultException(RestException(IOException)).
        while (t.getCause() != null && t.getCause() != t && !(t instanceof IOException)
                && t.getClass().getName().startsWith("io.github.jopenlibs") && !hasStatus(t)) {
            t = t.getCause();
        }
        return t;
    }

    private static boolean hasStatus(Throwable t) {
        return t instanceof io.github.jopenlibs.vault.VaultException
                && ((io.github.jopenlibs.vault.VaultException) t).getHttpStatusCode() > 0;
    }
}
