package org.openkcm.keystore.plugins;

/** Where the host writes what happens to its plugins, and each plugin's stderr: the OSGi log in a framework. */
interface PluginLog {
    void info(String message);

    void warn(String message);

    void error(String message);
}
