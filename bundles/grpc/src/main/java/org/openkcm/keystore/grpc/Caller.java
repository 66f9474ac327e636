package org.openkcm.keystore.grpc;

import java.util.List;

import javax.security.auth.x500.X500Principal;

import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;

import io.grpc.Context;

/**
 * An authenticated client: its certificate's subject and the grants that apply to it. A check
 * that fails throws {@link StatusMapping.NotGrantedException} before anything is changed.
 */
final class Caller {
    static final Context.Key<Caller> CONTEXT_KEY = Context.key("openkcm.keystore.caller");

    private final X500Principal subject;
    private final List<ClientGrant> grants;

    Caller(X500Principal subject, List<ClientGrant> grants) {
        this.subject = subject;
        this.grants = List.copyOf(grants);
    }

    /** The caller of the current call, as the authentication interceptor put it in the context. */
    static Caller current() {
        Caller caller = CONTEXT_KEY.get();
        if (caller == null) {
            throw new StatusMapping.NotAuthenticatedException("no client certificate");
        }
        return caller;
    }

    String subject() {
        return subject.getName();
    }

    boolean may(OperationClass operation, Owner owner, KeyType tier) {
        return grants.stream().anyMatch(g -> g.allows(operation, owner, tier));
    }

    boolean may(OperationClass operation, KeyMetadata key) {
        return may(operation, key.owner(), key.type());
    }

    void require(OperationClass operation, Owner owner, KeyType tier) {
        if (!may(operation, owner, tier)) {
            throw new StatusMapping.NotGrantedException("not granted: " + operation.label() + " on " + tier
                    + " keys of " + owner + " for " + subject());
        }
    }

    void require(OperationClass operation, KeyMetadata key) {
        require(operation, key.owner(), key.type());
    }

    /** For calls that concern no key (the admin service). */
    void require(OperationClass operation) {
        if (grants.stream().noneMatch(g -> g.allows(operation))) {
            throw new StatusMapping.NotGrantedException("not granted: " + operation.label() + " for " + subject());
        }
    }
}
