package org.openkcm.keystore.config;

import java.util.Comparator;
import java.util.Objects;

/**
 * The identity of one ConfigAdmin configuration: a singleton {@code pid} (name null), or the
 * instance {@code name} of the factory PID {@code pid}, which ConfigAdmin 1.6 names
 * {@code pid~name} ({@code getFactoryConfiguration(pid, name, "?")}). FileInstall gives the same
 * identity to a file {@code pid-name.cfg}, so a configuration of config.yaml and one of a .cfg
 * file are the same configuration exactly when their keys are equal.
 */
record ConfigKey(String pid, String name) implements Comparable<ConfigKey> {

    private static final Comparator<ConfigKey> ORDER = Comparator.comparing(ConfigKey::pid)
            .thenComparing(ConfigKey::name, Comparator.nullsFirst(Comparator.naturalOrder()));

    ConfigKey {
        Objects.requireNonNull(pid, "pid");
    }

    static ConfigKey singleton(String pid) {
        return new ConfigKey(pid, null);
    }

    static ConfigKey factory(String factoryPid, String name) {
        return new ConfigKey(factoryPid, Objects.requireNonNull(name, "name"));
    }

    boolean isFactory() {
        return name != null;
    }

    /** The {@code service.pid} ConfigAdmin gives this configuration. */
    String servicePid() {
        return name == null ? pid : pid + "~" + name;
    }

    /** The key path of this configuration in config.yaml, as error messages print it. */
    String path() {
        return name == null ? pid : pid + "/" + name;
    }

    @Override
    public int compareTo(ConfigKey other) {
        return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return servicePid();
    }
}
