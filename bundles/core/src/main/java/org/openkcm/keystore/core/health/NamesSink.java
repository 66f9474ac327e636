package org.openkcm.keystore.core.health;

import java.util.Set;

/** Hears the set of backend names whenever it changes; closed with its owner. */
public interface NamesSink extends AutoCloseable {
    void names(Set<String> names);

    @Override
    void close();
}
