package org.openkcm.keystore.openbao;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The nodes of one OpenBao cluster a configuration may talk to ({@code address}, then
 * {@code failover.addresses}) and the one in use. Every node of a cluster serves every request:
 * a standby forwards it to the active node. So a node is left only when it fails (unreachable,
 * sealed, or without an active node to forward to), for the next one in the list, round robin.
 */
final class Addresses {
    private final List<String> all;
    private final AtomicInteger inUse = new AtomicInteger();

    Addresses(List<String> all) {
        if (all.isEmpty()) {
            throw new IllegalArgumentException("no OpenBao address");
        }
        this.all = List.copyOf(all);
    }

    /** The address calls go to now. */
    String current() {
        return all.get(inUse.get());
    }

    /** True if there is another node to fail over to. */
    boolean cluster() {
        return all.size() > 1;
    }

    /**
     * Moves on to the next address if {@code failed} is still the one in use: the many calls that
     * fail together on one node move the cluster's pointer once, not once each.
     *
     * @return the address in use after the call
     */
    String failedOver(String failed) {
        int index = inUse.get();
        if (all.size() > 1 && all.get(index).equals(failed)) {
            inUse.compareAndSet(index, (index + 1) % all.size());
        }
        return current();
    }

    @Override
    public String toString() {
        return String.join(", ", all);
    }
}
