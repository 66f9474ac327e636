package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;

import org.junit.jupiter.api.Test;

/** The one line keystore:backends shows for a configuration whose activation failed. */
class NotStartedBackendsTest {
    @Test
    void theMessageOfTheActivationFailureNotTheReflectionWrapper() {
        IllegalArgumentException refused = new IllegalArgumentException("plugin p (/x) not started: refused",
                new IllegalStateException("inner detail"));
        assertEquals("plugin p (/x) not started: refused", NotStartedBackends.reason(trace(refused)));
        assertEquals("plugin p (/x) not started: refused",
                NotStartedBackends.reason(trace(new InvocationTargetException(refused))));
    }

    @Test
    void anExceptionWithoutMessageIsNamedByItsClass() {
        assertEquals("java.lang.NullPointerException", NotStartedBackends.reason(trace(new NullPointerException())));
        assertEquals("activation failed", NotStartedBackends.reason(null));
    }

    private static String trace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }
}
