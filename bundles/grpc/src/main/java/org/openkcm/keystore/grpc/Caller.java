package org.openkcm.keystore.grpc;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import javax.security.auth.x500.X500Principal;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyMetadata;
import org.openkcm.keystore.api.KeyNotFoundException;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.OwnerKind;

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

    /**
     * The key a call names, if this caller may do the operation on it. A request names a key but
     * not its owner, so a missing key is refused exactly like a key of an owner or tier the caller
     * is not granted (same status, same message): the answer never tells whether the key exists.
     * Only a caller granted the operation on every owner and tier, who could see the key if it
     * existed, learns that it is missing (an empty result).
     *
     * @param target the key as the request names it, for the message
     * @param lookup reads the key's metadata; throws {@link KeyNotFoundException} if there is none
     */
    Optional<KeyMetadata> requireOnKey(OperationClass operation, String target, Supplier<KeyMetadata> lookup) {
        KeyMetadata key;
        try {
            key = lookup.get();
        } catch (KeyNotFoundException e) {
            if (mayOnEveryKey(operation)) {
                return Optional.empty();
            }
            throw notGrantedOnKey(operation, target);
        }
        if (!may(operation, key)) {
            throw notGrantedOnKey(operation, target);
        }
        return Optional.of(key);
    }

    /**
     * Refuses a list whose filter names an owner id the caller may not see keys of (on the filter's
     * tier, or on any tier), rather than answering with an empty page.
     */
    void requireListable(KeyFilter filter) {
        if (filter.ownerId().isEmpty()) {
            return;
        }
        String id = filter.ownerId().get();
        Set<OwnerKind> kinds = filter.ownerKind().map(EnumSet::of).orElseGet(() -> EnumSet.allOf(OwnerKind.class));
        Set<KeyType> tiers = filter.type().map(EnumSet::of).orElseGet(() -> EnumSet.allOf(KeyType.class));
        for (OwnerKind kind : kinds) {
            for (KeyType tier : tiers) {
                if (may(OperationClass.METADATA, Owner.of(kind, id), tier)) {
                    return;
                }
            }
        }
        throw new StatusMapping.NotGrantedException("not granted: " + OperationClass.METADATA.label()
                + " on keys of owner id " + id + " for " + subject());
    }

    /** Whether this caller may do the operation on every owner's keys of every tier. */
    boolean mayOnEveryKey(OperationClass operation) {
        for (KeyType tier : KeyType.values()) {
            if (grants.stream().noneMatch(g -> g.allowsEveryOwner(operation, tier))) {
                return false;
            }
        }
        return true;
    }

    private StatusMapping.NotGrantedException notGrantedOnKey(OperationClass operation, String target) {
        return new StatusMapping.NotGrantedException("not granted: " + operation.label() + " on key " + target
                + " for " + subject() + " (or no such key)");
    }
}
