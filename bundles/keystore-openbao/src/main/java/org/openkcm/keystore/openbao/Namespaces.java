package org.openkcm.keystore.openbao;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.OwnerKind;
import org.openkcm.keystore.api.PolicyRefusedException;
import org.openkcm.keystore.api.UnavailableException;

import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;

/**
 * Which OpenBao namespace holds what, and creating a namespace and its KV v2 mount on first use.
 * <p>
 * With {@code namespace.mode = single} everything is in {@code namespace}. With
 * {@code per-tenant}, a tenant's records are in {@code <namespace.base>/<tenant id>} (tenant ids
 * are checked by the api's {@code Validation}: no '/', so one segment), service and node records
 * and the index of every key in {@code namespace.services}. The index stays in one place so
 * that a key is found by its id alone with one read, an id is unique across tenants, and a
 * listing walks one ordered index; its entries hold key names and locations, never material or
 * metadata.
 * <p>
 * A write that finds no namespace or no mount ({@link Kv.MissingMount}) asks
 * {@link #provision} to create what is missing: the namespace (and, if they are missing too,
 * its parents, never touching one that exists) and the KV v2 mount in it. A token that may not
 * gets a {@link PolicyRefusedException} naming the namespace and the capability it lacks, and
 * nothing is written.
 */
final class Namespaces {
    private final OpenBaoSettings settings;
    private final Kv kv;

    Namespaces(OpenBaoSettings settings, Kv kv) {
        this.settings = settings;
        this.kv = kv;
    }

    /** Where the index lives. */
    String index() {
        return settings.namespaceServices;
    }

    /** Where the record at a location ({@code <tier>/<owner kind>/<owner id>}) lives. */
    String of(String location) {
        if (!settings.perTenant) {
            return settings.namespace;
        }
        String[] parts = location.split("/", 3);
        return parts.length == 3 && parts[1].equals(OwnerKind.TENANT.label()) ? tenant(parts[2])
                : settings.namespaceServices;
    }

    /** The namespace of a tenant (per-tenant mode). */
    String tenant(String tenantId) {
        return settings.namespaceBase + "/" + tenantId;
    }

    /**
     * Creates what a write found missing: the namespace (with missing parents) and the KV v2
     * mount {@code kv.mount} in it. Concurrent provisioning of the same namespace is harmless:
     * creating an existing namespace succeeds, and an existing mount is accepted.
     *
     * @throws PolicyRefusedException if the token may not create the namespace or the mount
     * @throws InvalidInputException if OpenBao refuses the name (a reserved name such as "sys")
     */
    void provision(Kv.MissingMount missing, KeyId id) {
        if (!settings.perTenant && missing.namespace.equals(settings.namespace)) {
            // single mode: the configured namespace and mount are the operator's to create.
            throw new UnavailableException("the KV v2 mount " + settings.kvMount + " does not exist in namespace "
                    + Kv.shown(settings.namespace) + " (" + missing.getMessage() + "); mount it first", id, null);
        }
        if (missing.namespaceMissing) {
            createNamespace(missing.namespace, id, 0);
        }
        mount(missing.namespace, id);
    }

    private void createNamespace(String namespace, KeyId id, int depth) {
        int slash = namespace.lastIndexOf('/');
        String parent = slash < 0 ? "" : namespace.substring(0, slash);
        String leaf = namespace.substring(slash + 1);
        if (namespace.equals(settings.namespace) || depth > 32) {
            throw new UnavailableException("namespace " + namespace + " does not exist: it is this backend's own"
                    + " namespace (namespace), which the operator creates", id, null);
        }
        String what = "create namespace " + namespace + " (needs the create capability on sys/namespaces/" + leaf
                + " in namespace " + Kv.shown(parent) + ")";
        Transport.Reply reply = refusedNaming("the key's namespace does not exist yet", what, id,
                () -> kv.system(what, id, parent, "POST", "sys/namespaces/" + leaf, null));
        if (reply.status == 200 || reply.status == 204) {
            return;
        }
        if (reply.status == 404 && reply.describe().contains("namespace not found") && !parent.isEmpty()) {
            createNamespace(parent, id, depth + 1);
            createNamespace(namespace, id, depth + 1);
            return;
        }
        if (reply.status == 400) {
            throw new InvalidInputException("owner.id", "OpenBao refuses " + namespace + " as a namespace name: "
                    + reply.describe(), id);
        }
        throw new UnavailableException(what + ": unexpected answer from OpenBao: " + reply.describe(), id, null);
    }

    private void mount(String namespace, KeyId id) {
        String what = "mount KV v2 at " + settings.kvMount + " in namespace " + namespace
                + " (needs the create capability on sys/mounts/" + settings.kvMount + " there)";
        JsonObject body = Json.object().add("type", "kv").add("options", Json.object().add("version", "2"));
        Transport.Reply reply = refusedNaming("the key's namespace has no KV mount yet", what, id,
                () -> kv.system(what, id, namespace, "POST", "sys/mounts/" + settings.kvMount, body));
        if (reply.status == 200 || reply.status == 204
                || (reply.status == 400 && reply.describe().contains("already in use"))) {
            return;
        }
        throw new UnavailableException(what + ": unexpected answer from OpenBao: " + reply.describe(), id, null);
    }

    private interface Call {
        Transport.Reply run();
    }

    /** Turns a refusal into one that says nothing was written and what the token lacks. */
    private static Transport.Reply refusedNaming(String state, String what, KeyId id, Call call) {
        try {
            return call.run();
        } catch (PolicyRefusedException e) {
            throw new PolicyRefusedException(id, state + " and this backend's token may not create it, so nothing"
                    + " was written: " + what + " was refused by its OpenBao policy", e);
        }
    }
}
