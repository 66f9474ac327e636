package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
        List<String> names = help.help(null).lines().toList();
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

    @Test
    void asTheShellCallsItTheCommandIsOptionalAndASecondOneIsAUsageError() throws Exception {
        CheckedCommand checked = new CheckedCommand(help, Usage.command("help"));
        assertEquals(help.help(null), checked.execute(null, List.of()));
        assertEquals("gogo's help of lb", checked.execute(null, List.of("lb")));
        UsageException e = assertThrows(UsageException.class, () -> checked.execute(null, List.of("a", "b")));
        assertEquals("usage: keystore:help [COMMAND] (unexpected argument b)", e.getMessage());
        String own = help.help("help");
        assertTrue(own.contains("usage: keystore:help [COMMAND]\n   arguments (optional):\n      [COMMAND]"), own);
    }
}
