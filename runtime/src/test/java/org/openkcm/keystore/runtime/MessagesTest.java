package org.openkcm.keystore.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;

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
}
