package org.openkcm.keystore.openbao;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OpenBao address each configuration (by its {@code service.pid}) was last activated with.
 * Without a modified method, Declarative Services replaces the component instance on every
 * configuration update, so the previous address has to outlive the instance to notice that an
 * update points the keystore at another server.
 */
final class AddressHistory {
    private final Map<String, String> addresses = new ConcurrentHashMap<>();

    /**
     * Records {@code address} as the one {@code pid} now uses.
     *
     * @return the line to log when it differs from the address {@code pid} used before; empty on
     *         the first activation and when the address stayed the same
     */
    Optional<String> accept(String pid, String address) {
        String previous = addresses.put(pid, address);
        if (previous == null || previous.equals(address)) {
            return Optional.empty();
        }
        return Optional.of("OpenBao keystore configuration " + pid + ": address changed from " + previous + " to "
                + address);
    }

    /** The configuration was deleted: a later one with the same pid starts afresh. */
    void forget(String pid) {
        addresses.remove(pid);
    }
}
