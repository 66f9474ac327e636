package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** {@code help} over a stand-in of Gogo's help (the gogo.command bundle's, which the runtime test uses for real). */
class HelpCommandsTest {

    /** Answers as Gogo's help does: the names of the commands it finds, or one command's text. */
    public static final class GogoHelp {
        public String help() {
            return "felix:help\nfelix:lb\nkeystore:generate\nkeystore:list\n";
        }

        public String help(String name) {
            return "gogo's help of " + name;
        }
    }

    private final HelpCommands help = new HelpCommands(new GogoHelp());

    @Test
    void helpListsGogosCommandsAndEveryKeystoreCommandOnce() throws Exception {
        List<String> names = help.help().lines().toList();
        assertTrue(names.contains("felix:lb") && names.contains("keystore:import") && names.contains("keystore:health"),
                names.toString());
        assertEquals(1, names.stream().filter("keystore:generate"::equals).count());
        assertEquals(names.stream().sorted().toList(), names);
    }

    @Test
    void helpOfAKeystoreCommandIsOursAndOfAnyOtherGogos() throws Exception {
        assertTrue(help.help("keystore:import").contains("usage: keystore:import --file PATH|- --type"));
        assertTrue(help.help("generate").contains("required options:"));
        assertEquals("gogo's help of lb", help.help("lb"));
        assertEquals("gogo's help of felix:list", help.help("felix:list"));
    }
}
