package org.openkcm.keystore.runtime;

import java.util.Dictionary;
import java.util.Hashtable;

import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/**
 * The shell's {@code exit [status]} command: stops the runtime, which then exits with that status.
 * <p>
 * Gogo's JLine console has no {@code exit} of its own (Ctrl-D ends it), and the plain Gogo shell's
 * {@code exit} needed a number and stopped the framework from the console's own thread, which the
 * stop then interrupted. This one records the status and stops the framework from a thread of its
 * own, so the command returns at once and the console closes quietly.
 * <p>
 * Gogo finds commands by their service properties alone, so the launcher registers a plain object
 * and needs none of Gogo's types.
 */
public final class ExitCommand {

    private final BundleContext systemContext;
    private volatile int requested;

    private ExitCommand(BundleContext systemContext) {
        this.systemContext = systemContext;
    }

    static ExitCommand register(BundleContext systemContext) {
        ExitCommand command = new ExitCommand(systemContext);
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("osgi.command.scope", "runtime");
        properties.put("osgi.command.function", new String[] {"exit"});
        systemContext.registerService(Object.class, command, properties);
        return command;
    }

    /** Stops the runtime; the process exits with status 0. */
    public void exit() {
        exit(0);
    }

    /** Stops the runtime; the process exits with the given status (0 to 255). */
    public void exit(int status) {
        if (status < 0 || status > 255) {
            throw new IllegalArgumentException("exit status must be 0 to 255, not " + status);
        }
        requested = status;
        Thread stopper = new Thread(this::stopFramework, "openkcm-keystore-exit");
        stopper.setDaemon(true);
        stopper.start();
    }

    int requestedStatus() {
        return requested;
    }

    private void stopFramework() {
        try {
            systemContext.getBundle(0).stop();
        } catch (BundleException | IllegalStateException e) {
            // already stopping
        }
    }
}
