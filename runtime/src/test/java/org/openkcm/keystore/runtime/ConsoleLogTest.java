package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

class ConsoleLogTest {

    /** The four methods of the log service's LogEntry that the console log reads. */
    public interface Entry {
        int getLevel();

        String getMessage();

        Bundle getBundle();

        Throwable getException();
    }

    private static Entry error(String message, Throwable failure) {
        return new Entry() {
            public int getLevel() {
                return 1;
            }

            public String getMessage() {
                return message;
            }

            public Bundle getBundle() {
                return null;
            }

            public Throwable getException() {
                return failure;
            }
        };
    }

    private static final String FAILED = "bundle org.openkcm.keystore.keystore-openbao:0.1.0 (15)[org.openkcm.keystore"
            + ".openbao.OpenBaoKeystoreComponent(7)] : The activate method has thrown an exception";

    @Test
    void anEntryDeliveredAfterTheLauncherClosedTheLogIsNotPrinted() throws Throwable {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ConsoleLog log = new ConsoleLog(err, 0, Entry.class);

        logged(log, error(FAILED, new IllegalStateException("token.source: environment variable X is not set")));
        String before = bytes.toString(StandardCharsets.UTF_8);
        assertEquals("error: component org.openkcm.keystore.openbao.OpenBaoKeystoreComponent failed to activate: "
                + "token.source: environment variable X is not set\n", before);

        List<String> printed = log.close();
        assertEquals(1, printed.size());
        // the same refusal, delivered while the framework stops, when Declarative Services can no longer be asked
        logged(log, error(FAILED.replace("The activate method", "The constructor"), null));
        assertEquals(before, bytes.toString(StandardCharsets.UTF_8));
        assertEquals(printed, log.configurationErrors());
    }

    private static void logged(ConsoleLog log, Entry entry) throws Throwable {
        log.invoke(null, LogListener.class.getMethod("logged", Object.class), new Object[] {entry});
    }

    /** Stands in for the log service's LogListener: the console log dispatches on the method's name. */
    public interface LogListener {
        void logged(Object entry);
    }
}
