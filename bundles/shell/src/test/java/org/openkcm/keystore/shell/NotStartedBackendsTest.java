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

    @Test
    void theEntryOfAConfigurationIsTakenOnceAndOnlyByItsPid() {
        NotStartedBackends.NotStarted a = new NotStartedBackends.NotStarted("a", "org.openkcm.keystore.memory~a",
                "b", "1", "refused");
        NotStartedBackends.NotStarted plugin = new NotStartedBackends.NotStarted("p", "org.openkcm.keystore.plugin~p",
                "b", "1", "refused");
        java.util.List<NotStartedBackends.NotStarted> list = new java.util.ArrayList<>(java.util.List.of(a, plugin));
        assertEquals(null, NotStartedBackends.take(list, null));
        assertEquals(null, NotStartedBackends.take(list, "org.openkcm.keystore.memory~other"));
        assertEquals(a, NotStartedBackends.take(list, "org.openkcm.keystore.memory~a"));
        assertEquals(null, NotStartedBackends.take(list, "org.openkcm.keystore.memory~a"));
        assertEquals(java.util.List.of(plugin), list);
    }

    private static String trace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }
}
