package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;

import org.junit.jupiter.api.Test;

class MessagesTest {

    @Test
    void aMessageIsFoldedOntoOneLine() {
        assertEquals("first second third", Messages.oneLine(new IllegalStateException("  first\r\n  second\nthird \n")));
    }

    @Test
    void withoutAMessageTheCauseOrTheTypeSpeaks() {
        assertEquals("disk full", Messages.oneLine(new RuntimeException(null, new IOException("disk full"))));
        assertEquals("IllegalStateException", Messages.oneLine(new IllegalStateException()));
    }

    @Test
    void reflectionAndWrappingExceptionsAreUnwrappedToTheirCause() {
        IllegalArgumentException real = new IllegalArgumentException("token.source: environment variable X is not set");
        assertEquals(real, Messages.cause(new InvocationTargetException(real)));
        assertEquals(real, Messages.cause(new RuntimeException(new InvocationTargetException(real))));
        IllegalStateException own = new IllegalStateException("its own message", real);
        assertEquals(own, Messages.cause(own));
    }

    @Test
    void aFailedActivationIsOneLineWithTheCause() {
        String entry = "bundle org.openkcm.keystore.core:0.1.0.SNAPSHOT (14)[org.openkcm.keystore.core.kek.FileKekProvider(3)]"
                + " : The activate method has thrown an exception";
        assertEquals("component org.openkcm.keystore.core.kek.FileKekProvider failed to activate: the reason",
                ConsoleLog.activationFailure(entry, new RuntimeException(new IllegalStateException("the reason")),
                        name -> null));
        assertEquals(null, ConsoleLog.activationFailure("something else", null, name -> null));
        String instantiation = "bundle org.openkcm.keystore.keystore-openbao:0.1.0 (15)[org.openkcm.keystore.openbao"
                + ".OpenBaoKeystoreComponent(7)] : Error during instantiation of the implementation object: "
                + "java.lang.reflect.InvocationTargetException: null";
        assertEquals("component org.openkcm.keystore.openbao (file:/home/config/org.openkcm.keystore.openbao-main.cfg)"
                + " failed to activate: token.source: environment variable X is not set",
                ConsoleLog.activationFailure(instantiation, null, name -> new Readiness.FailedComponent(
                        "org.openkcm.keystore.openbao", name, "file:/home/config/org.openkcm.keystore.openbao-main.cfg",
                        "token.source: environment variable X is not set")));
        assertEquals("component org.openkcm.keystore.openbao.OpenBaoKeystoreComponent failed to activate: its "
                + "constructor or activate method threw (scr:info org.openkcm.keystore.openbao.OpenBaoKeystoreComponent "
                + "shows why)", ConsoleLog.activationFailure(instantiation, null, name -> null));
    }

    @Test
    void theCauseInDeclarativeServicesFailureTextIsTheLastCausedBy() {
        String failure = "java.lang.reflect.InvocationTargetException\n\tat a.b.C.d(C.java:1)\n"
                + "Caused by: java.lang.IllegalArgumentException: token.source: environment variable X is not set\n"
                + "\tat e.f.G.h(G.java:2)\n";
        assertEquals("token.source: environment variable X is not set", Readiness.failureReason(failure));
        assertEquals("refused by policy: the KEK file k is readable by others (mode 0604); chmod 600 k",
                Readiness.failureReason("org.openkcm.keystore.api.PolicyRefusedException: refused by policy: the KEK "
                        + "file k is readable by others (mode 0604); chmod 600 k\n\tat x.Y.z(Y.java:3)"));
        assertEquals("no reason given", Readiness.failureReason(null));
    }
}
