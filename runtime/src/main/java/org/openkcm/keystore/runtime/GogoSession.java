package org.openkcm.keystore.runtime;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * A Gogo {@code CommandSession} driven from the launcher's side of the framework.
 * <p>
 * The command API ({@code org.apache.felix.service.command}) lives in the gogo.runtime bundle,
 * not on the launcher's class path; exporting it from the system bundle would make every bundle
 * wire to the launcher's copy instead. So the launcher calls the four methods it needs
 * ({@code createSession}, {@code execute}, {@code format}, {@code close}) through reflection on
 * the interfaces loaded from the bundle that registered the service. Only {@code java.*} types
 * cross the boundary: streams, {@code CharSequence}, {@code Object}.
 */
final class GogoSession implements AutoCloseable, CommandRunner.Executor {

    private static final String API = "org.apache.felix.service.command.";
    /** Gogo's incomplete-input error: the statement continues on the next line. */
    private static final String EOF_ERROR = "org.apache.felix.gogo.runtime.EOFError";

    private final BundleContext context;
    private final ServiceReference<?> reference;
    private final Object session;
    private final Method execute;
    private final Method format;
    private final Method put;
    private final Method close;
    private final int inspect;

    private GogoSession(BundleContext context, ServiceReference<?> reference, Object session, Class<?> sessionType,
            int inspect) throws NoSuchMethodException {
        this.context = context;
        this.reference = reference;
        this.session = session;
        this.execute = sessionType.getMethod("execute", CharSequence.class);
        this.format = sessionType.getMethod("format", Object.class, int.class);
        this.put = sessionType.getMethod("put", String.class, Object.class);
        this.close = sessionType.getMethod("close");
        this.inspect = inspect;
    }

    /**
     * Opens a session on the given {@code CommandProcessor} service.
     *
     * @throws ReflectiveOperationException if the service is gone or its API is not Gogo's
     */
    static GogoSession open(BundleContext context, ServiceReference<?> processorReference, InputStream in,
            PrintStream out, PrintStream err) throws ReflectiveOperationException {
        Object processor = context.getService(processorReference);
        if (processor == null) {
            throw new ClassNotFoundException("the Gogo CommandProcessor service is gone");
        }
        try {
            Bundle gogo = processorReference.getBundle();
            Class<?> processorType = gogo.loadClass(API + "CommandProcessor");
            Class<?> sessionType = gogo.loadClass(API + "CommandSession");
            int inspect = gogo.loadClass(API + "Converter").getField("INSPECT").getInt(null);
            Method create = processorType.getMethod("createSession", InputStream.class, OutputStream.class,
                    OutputStream.class);
            Object session = invoke(create, processor, in, out, err);
            return new GogoSession(context, processorReference, session, sessionType, inspect);
        } catch (ReflectiveOperationException | RuntimeException e) {
            context.ungetService(processorReference);
            throw e;
        } catch (Exception e) {
            context.ungetService(processorReference);
            throw new InvocationTargetException(e);
        }
    }

    /**
     * Executes a Gogo program (one or more statements).
     *
     * @return the value of the last statement
     * @throws Exception what the command threw
     */
    @Override
    public Object execute(CharSequence program) throws Exception {
        return invoke(execute, session, program);
    }

    /** The value as the interactive shell prints it. */
    @Override
    public CharSequence format(Object value) throws Exception {
        return (CharSequence) invoke(format, session, value, inspect);
    }

    void put(String name, Object value) throws Exception {
        invoke(put, session, name, value);
    }

    /**
     * Whether the failure says only that the input stops in the middle of a statement: Gogo's
     * {@code EOFError}, which its parser throws before anything runs, and which the session
     * hands out as the cause of a {@code java.io.EOFException}.
     */
    static boolean isIncompleteInput(Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 8; t = t.getCause(), depth++) {
            for (Class<?> type = t.getClass(); type != null; type = type.getSuperclass()) {
                if (type.getName().equals(EOF_ERROR)) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        try {
            invoke(close, session);
        } catch (Exception e) {
            // the framework is stopping anyway
        } finally {
            try {
                context.ungetService(reference);
            } catch (IllegalStateException e) {
                // the framework has stopped
            }
        }
    }

    /** Calls the method and rethrows what the method itself threw. */
    private static Object invoke(Method method, Object target, Object... args) throws Exception {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception exception) {
                throw exception;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }
}
