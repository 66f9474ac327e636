package org.openkcm.keystore.plugins;

/** A plugin could not be started; the message says why in one line. */
final class PluginStartException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PluginStartException(String message) {
        super(message);
    }

    PluginStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
