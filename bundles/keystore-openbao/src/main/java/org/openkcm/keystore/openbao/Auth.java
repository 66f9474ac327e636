package org.openkcm.keystore.openbao;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.openbao.OpenBaoKeystoreComponent.AuthMethod;

import io.github.jopenlibs.vault.EnvironmentLoader;
import io.github.jopenlibs.vault.VaultConfig;
import io.github.jopenlibs.vault.VaultException;
import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;

/**
 * The token of one configuration, kept valid: read from its source (static token) or obtained
 * by AppRole login; renewed ({@code renew-self}) at two thirds of its TTL; replaced by a new
 * login when AppRole renewal is refused or nears the token's maximum TTL. A static token that
 * is revoked or expires cannot be replaced: its source is read again (a rotated file is picked
 * up), and otherwise the keystore reports down with that reason.
 * <p>
 * The current token lives in an immutable {@link Session} swapped atomically; readers never
 * lock. Logins are single-flight. Nothing here logs or prints a token, a role id or a secret id.
 */
final class Auth implements AutoCloseable {
    /** Shortest wait between two renewals, whatever the TTL. */
    private static final long MIN_RENEW_DELAY_MS = 200;
    /** Wait before retrying a renewal that failed for a transient reason. */
    private static final long RENEW_RETRY_MS = 2000;

    /** One token and the driver configurations that carry it, one per node address. Immutable. */
    static final class Session {
        final String token;
        private final Map<String, VaultConfig> vaults;
        /** TTL granted at login or last renewal, in seconds; 0 for a token that never expires. */
        final long ttlSeconds;
        /** TTL granted at login (or found at first lookup): the increment asked at each renewal. */
        final long initialTtlSeconds;
        final boolean renewable;

        Session(String token, Map<String, VaultConfig> vaults, long ttlSeconds, long initialTtlSeconds,
                boolean renewable) {
            this.token = token;
            this.vaults = vaults;
            this.ttlSeconds = ttlSeconds;
            this.initialTtlSeconds = initialTtlSeconds;
            this.renewable = renewable;
        }

        Session renewed(long ttl, boolean stillRenewable) {
            return new Session(token, vaults, ttl, initialTtlSeconds, stillRenewable);
        }

        /** The driver configuration that sends this token to the node at {@code address}. */
        VaultConfig vault(String address) {
            return vaults.get(address);
        }

        @Override
        public String toString() {
            return "Session[ttl=" + ttlSeconds + "s, renewable=" + renewable + "]";
        }
    }

    private final OpenBaoSettings settings;
    private final Transport transport;
    private final ScheduledExecutorService scheduler;
    private final ReentrantLock loginLock = new ReentrantLock();
    private volatile Session current;
    /** Why authentication currently fails, or null. */
    private volatile String problem;
    private volatile boolean closed;

    Auth(OpenBaoSettings settings, Transport transport) {
        this.settings = settings;
        this.transport = transport;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "openkcm-openbao-" + settings.name + "-auth");
            t.setDaemon(true);
            return t;
        });
        if (settings.authMethod == AuthMethod.token) {
            // The token is known now; its TTL is learnt in the background.
            current = session(settings.token.read(), 0, 0, false);
            scheduler.execute(this::lookupStaticToken);
        } else {
            scheduler.execute(() -> {
                try {
                    obtain(null);
                } catch (RuntimeException e) {
                    // Recorded in problem; the next call or health probe tries again.
                }
            });
        }
    }

    /** The current session, logging in first if there is none yet (AppRole). */
    Session session() {
        Session s = current;
        return s != null ? s : obtain(null);
    }

    /** The current session, or null before the first AppRole login. Never blocks. */
    Session peek() {
        return current;
    }

    /**
     * {@link #replace} (or the first login, for a null session) bounded by a timeout, for the
     * health probe. A login still running at the timeout goes on in the background.
     *
     * @throws UnavailableException if no valid token can be had, with the reason
     */
    void replaceWithin(Session refused, Duration timeout) throws TimeoutException, InterruptedException {
        CompletableFuture<Session> login;
        try {
            login = CompletableFuture.supplyAsync(() -> obtain(refused), scheduler);
        } catch (RejectedExecutionException e) {
            throw new UnavailableException("the OpenBao keystore " + settings.name + " is closed");
        }
        try {
            login.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnavailableException) {
                throw (UnavailableException) e.getCause();
            }
            throw new UnavailableException("OpenBao login failed: " + Transport.describe(e.getCause()));
        }
    }

    /** Why authentication fails now, or null if it does not (as far as is known). */
    String problem() {
        return problem;
    }

    /**
     * Asks OpenBao whether the session's token is still valid ({@code lookup-self}).
     *
     * @return true if valid, false if OpenBao refuses it (revoked or expired)
     * @throws IOException, TimeoutException if OpenBao does not answer
     */
    boolean isValid(Session session, Duration timeout) throws IOException, InterruptedException, TimeoutException {
        Transport.Reply reply = transport.send("GET", "auth/token/lookup-self", session.token, null, timeout,
                settings.namespace);
        if (reply.status == 200) {
            return true;
        }
        if (reply.status == 403 || reply.status == 401) {
            return false;
        }
        throw new IOException("lookup-self answered " + reply.describe());
    }

    /**
     * Replaces a session whose token OpenBao refused: a new AppRole login, or the static token
     * read again from its source.
     *
     * @throws UnavailableException if no valid token can be had, with the reason
     */
    Session replace(Session refused) {
        return obtain(refused);
    }

    private Session obtain(Session refused) {
        boolean locked;
        try {
            locked = loginLock.tryLock(loginBudget().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted while waiting for an OpenBao login");
        }
        if (!locked) {
            throw new UnavailableException("OpenBao login did not complete in time"
                    + (problem == null ? "" : ": " + problem));
        }
        try {
            Session s = current;
            if (s != null && s != refused) {
                return s; // another thread already replaced it
            }
            if (closed) {
                throw new UnavailableException("the OpenBao keystore " + settings.name + " is closed");
            }
            Session fresh = settings.authMethod == AuthMethod.approle ? login() : reread(refused);
            current = fresh;
            problem = null;
            if (settings.authMethod == AuthMethod.approle) {
                scheduleRenewal(fresh);
            } else {
                scheduler.execute(this::lookupStaticToken);
            }
            return fresh;
        } catch (UnavailableException e) {
            problem = e.getMessage();
            throw e;
        } finally {
            loginLock.unlock();
        }
    }

    /** An AppRole login, retried within the retry budget on transient failures. */
    private Session login() {
        String roleId;
        String secretId;
        try {
            roleId = settings.roleId.read();
            secretId = settings.secretId.read();
        } catch (IllegalStateException e) {
            throw new UnavailableException("AppRole login impossible: " + e.getMessage());
        }
        JsonObject body = Json.object().add("role_id", roleId).add("secret_id", secretId);
        String path = "auth/" + settings.approleMount + "/login";
        String last = "no attempt";
        for (int attempt = 1; attempt <= settings.retry.maxAttempts; attempt++) {
            try {
                Transport.Reply reply = transport.send("POST", path, null, body, loginBudget(), settings.namespace);
                if (reply.status == 200) {
                    JsonValue auth = reply.json().get("auth");
                    if (auth == null || !auth.isObject() || auth.asObject().getString("client_token", null) == null) {
                        throw new UnavailableException("AppRole login at " + path + " answered without a token");
                    }
                    JsonObject a = auth.asObject();
                    long ttl = a.getLong("lease_duration", 0);
                    return session(a.getString("client_token", null), ttl, ttl, a.getBoolean("renewable", false));
                }
                last = reply.describe();
                if (Transport.verdict(reply.status) != Transport.Verdict.RETRY) {
                    throw new UnavailableException("AppRole login at " + path + " (role id and secret id from "
                            + settings.roleId + ", " + settings.secretId + ") refused: " + last);
                }
            } catch (IOException | TimeoutException e) {
                last = Transport.describe(e);
                if (Transport.verdict(e) == Transport.Verdict.FATAL) {
                    break;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UnavailableException("interrupted during AppRole login");
            }
            if (attempt < settings.retry.maxAttempts) {
                sleep(settings.retry.backoff(attempt));
            }
        }
        throw new UnavailableException("AppRole login at " + path + " failed: " + last);
    }

    /** The static token read again: a rotated token is taken; the same refused token is not. */
    private Session reread(Session refused) {
        String token;
        try {
            token = settings.token.read();
        } catch (IllegalStateException e) {
            throw new UnavailableException("OpenBao token unavailable: " + e.getMessage());
        }
        if (refused != null && token.equals(refused.token)) {
            throw new UnavailableException("the OpenBao token from " + settings.token
                    + " is no longer valid (revoked or expired); give a new token at that source");
        }
        return session(token, 0, 0, false);
    }

    /** Learns the static token's TTL and whether it is renewable, then schedules its renewal. */
    private void lookupStaticToken() {
        Session s = current;
        if (s == null || closed) {
            return;
        }
        try {
            Transport.Reply reply = transport.send("GET", "auth/token/lookup-self", s.token, null, loginBudget(),
                    settings.namespace);
            if (reply.status == 200) {
                JsonValue data = reply.json().get("data");
                JsonObject d = data != null && data.isObject() ? data.asObject() : new JsonObject();
                long ttl = d.getLong("ttl", 0);
                boolean renewable = d.getBoolean("renewable", false);
                Session known = new Session(s.token, s.vaults, ttl, Math.max(ttl, d.getLong("creation_ttl", ttl)),
                        renewable);
                if (current == s) {
                    current = known;
                    problem = null;
                    scheduleRenewal(known);
                }
            } else if (reply.status == 403 || reply.status == 401) {
                problem = "the OpenBao token from " + settings.token + " is not valid (revoked or expired):"
                        + " lookup-self answered " + reply.describe();
            } else {
                retryLater(this::lookupStaticToken);
            }
        } catch (IOException | TimeoutException e) {
            retryLater(this::lookupStaticToken);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            retryLater(this::lookupStaticToken);
        }
    }

    private void scheduleRenewal(Session s) {
        if (closed || s.ttlSeconds <= 0) {
            return; // never expires, or TTL unknown yet
        }
        if (!s.renewable && settings.authMethod == AuthMethod.token) {
            return; // nothing to do: it will expire, and health will say so
        }
        long delay = Math.max(MIN_RENEW_DELAY_MS, s.ttlSeconds * 1000 * 2 / 3);
        try {
            scheduler.schedule(() -> renew(s), delay, TimeUnit.MILLISECONDS);
        } catch (RuntimeException rejected) {
            // Closed meanwhile.
        }
    }

    private void renew(Session s) {
        if (closed || current != s) {
            return; // superseded by a newer session
        }
        boolean approle = settings.authMethod == AuthMethod.approle;
        if (approle && !s.renewable) {
            reloginInBackground(s);
            return;
        }
        try {
            JsonObject body = Json.object().add("increment", s.initialTtlSeconds + "s");
            Transport.Reply reply = transport.send("POST", "auth/token/renew-self", s.token, body, loginBudget(),
                    settings.namespace);
            if (reply.status == 200) {
                JsonValue auth = reply.json().get("auth");
                JsonObject a = auth != null && auth.isObject() ? auth.asObject() : new JsonObject();
                long ttl = a.getLong("lease_duration", 0);
                boolean renewable = a.getBoolean("renewable", false);
                if (approle && ttl * 3 < s.initialTtlSeconds) {
                    // Close to the token's maximum TTL: a fresh login gives a full one.
                    reloginInBackground(s);
                    return;
                }
                Session renewed = s.renewed(ttl, renewable);
                if (current == s) {
                    current = renewed;
                    problem = null;
                    scheduleRenewal(renewed);
                }
            } else if (reply.status == 403 || reply.status == 401) {
                if (approle) {
                    reloginInBackground(s);
                } else {
                    problem = "the OpenBao token from " + settings.token + " could not be renewed and is no longer"
                            + " valid (revoked or expired): renew-self answered " + reply.describe();
                }
            } else if (reply.status == 400 && !approle) {
                problem = "the OpenBao token from " + settings.token + " cannot be renewed: " + reply.describe();
            } else {
                retryRenewal(s);
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            retryRenewal(s);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void retryRenewal(Session s) {
        retryLater(() -> renew(s));
    }

    private void reloginInBackground(Session s) {
        try {
            obtain(s);
        } catch (RuntimeException e) {
            retryLater(() -> {
                if (current == s) {
                    reloginInBackground(s);
                }
            });
        }
    }

    private void retryLater(Runnable task) {
        if (closed) {
            return;
        }
        try {
            scheduler.schedule(task, RENEW_RETRY_MS, TimeUnit.MILLISECONDS);
        } catch (RuntimeException rejected) {
            // Closed meanwhile.
        }
    }

    private Duration loginBudget() {
        return Duration.ofSeconds(settings.readTimeoutSeconds).plus(settings.connectTimeout);
    }

    private Session session(String token, long ttl, long initialTtl, boolean renewable) {
        Map<String, VaultConfig> vaults = new HashMap<>();
        for (String address : settings.addresses) {
            vaults.put(address, driver(token, address));
        }
        return new Session(token, Map.copyOf(vaults), ttl, initialTtl, renewable);
    }

    /**
     * The driver configuration for one token, on this configuration's shared HTTP client. KV v2
     * everywhere; no retries in the driver (they are ours, with backoff and jitter). Calls go
     * through {@code new Logical(config)}, as {@code Vault.logical()} does, without the driver's
     * informational logging.
     */
    private VaultConfig driver(String token, String address) {
        try {
            VaultConfig config = new VaultConfig()
                    // The configuration is the only input: no VAULT_* variable of the process leaks in.
                    .environmentLoader(new NoEnvironment())
                    .address(address)
                    .token(token)
                    .openTimeout((int) settings.connectTimeout.toSeconds())
                    .readTimeout(settings.readTimeoutSeconds)
                    .prefixPath(settings.kvMount)
                    .httpClient(transport.http);
            if (!settings.namespace.isEmpty()) {
                config.nameSpace(settings.namespace);
            }
            return config.engineVersion(2).build();
        } catch (VaultException e) {
            throw new IllegalStateException("cannot configure vault-java-driver: " + e.getMessage(), e);
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted while waiting to retry an OpenBao login");
        }
    }

    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
    }

    /** Hides the process environment from the driver. */
    private static final class NoEnvironment extends EnvironmentLoader {
        private static final long serialVersionUID = 1L;

        @Override
        public String loadVariable(String name) {
            return null;
        }
    }
}
