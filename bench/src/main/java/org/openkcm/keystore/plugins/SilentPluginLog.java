package org.openkcm.keystore.plugins;

/** A plugin log that drops every line: benchmarks measure calls, not the host's logging. */
final class SilentPluginLog implements PluginLog {
    @Override
    public void info(String message) {
    }

    @Override
    public void warn(String message) {
    }

    @Override
    public void error(String message) {
    }
}
