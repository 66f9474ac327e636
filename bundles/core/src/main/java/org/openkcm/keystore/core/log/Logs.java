package org.openkcm.keystore.core.log;

import org.osgi.service.log.Logger;

/**
 * Null-safe logging through the OSGi {@link Logger} that DS injects (optional: with no log service
 * present, nothing is logged). Messages name keys, KEK ids and versions, never key bytes.
 */
public final class Logs {
    private Logs() {
    }

    public static void info(Logger logger, String format, Object... args) {
        if (logger != null) {
            logger.info(format, args);
        }
    }

    public static void warn(Logger logger, String format, Object... args) {
        if (logger != null) {
            logger.warn(format, args);
        }
    }

    public static void error(Logger logger, String format, Object... args) {
        if (logger != null) {
            logger.error(format, args);
        }
    }
}
