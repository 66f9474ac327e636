package org.openkcm.keystore.grpc;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.grpc.v1.AdminServiceGrpc;
import org.openkcm.keystore.grpc.v1.KeyLocation;
import org.openkcm.keystore.grpc.v1.LocateRequest;
import org.openkcm.keystore.grpc.v1.LocateResponse;

/**
 * Where the keys of the page just listed are held, asked of the daemon in one Locate call for the
 * whole page, at the first key of it asked about, rather than one call per key (a listing shows
 * each key's backend, see the shell's list; a listing nobody asks locations of costs no call).
 * Each answer is used once, by the next {@link #take} of that key, and only until the next other
 * call: any other call forgets them, so no later command shows a location from before a change.
 * <p>
 * The location is shown to callers granted {@code admin} only; for any other caller the daemon
 * refuses Locate and the location is unknown (empty), which does not fail the listing.
 */
final class ListedLocations {
    private final DaemonChannel daemon;
    private final Map<KeyId, Optional<String>> answers = new ConcurrentHashMap<>();
    private volatile List<KeyId> page = List.of();

    ListedLocations(DaemonChannel daemon) {
        this.daemon = daemon;
    }

    /** After a listing: the keys whose locations the next {@link #take} asks for together. */
    void listed(List<KeyId> ids) {
        forget();
        page = List.copyOf(ids);
    }

    /** Where the key is: the answer for the listed page, used up; else one Locate call now. */
    Optional<String> take(KeyId id) {
        List<KeyId> pending = page;
        if (!answers.containsKey(id) && pending.contains(id)) {
            page = List.of();
            answers.putAll(locateOrUnknown(pending));
        }
        Optional<String> known = answers.remove(id);
        return known != null ? known : locateOrUnknown(List.of(id)).getOrDefault(id, Optional.empty());
    }

    /** Another call is made: what the listing said may change with it. */
    void forget() {
        page = List.of();
        answers.clear();
    }

    private Map<KeyId, Optional<String>> locateOrUnknown(List<KeyId> ids) {
        try {
            return locate(ids);
        } catch (RemoteFailures.RemoteRefusalException notGranted) {
            Map<KeyId, Optional<String>> unknown = new java.util.HashMap<>();
            ids.forEach(id -> unknown.put(id, Optional.empty()));
            return unknown;
        }
    }

    private Map<KeyId, Optional<String>> locate(List<KeyId> ids) {
        LocateRequest.Builder request = LocateRequest.newBuilder();
        ids.forEach(id -> request.addIds(ProtoConversion.keyId(id)));
        LocateResponse response = daemon.call(c -> AdminServiceGrpc.newBlockingStub(c)
                .withDeadlineAfter(daemon.timeoutMillis(), TimeUnit.MILLISECONDS).locate(request.build()));
        Map<KeyId, Optional<String>> out = new java.util.HashMap<>();
        for (KeyLocation location : response.getLocationsList()) {
            out.put(ClientConversion.keyId(location.getId()),
                    location.hasBackend() ? Optional.of(location.getBackend()) : Optional.empty());
        }
        return out;
    }
}
