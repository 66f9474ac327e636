package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** Usage lines and help are built from the commands' annotations, the same way for every command. */
class UsageTest {

    @Test
    void everyKeystoreCommandIsKnownImportIncluded() {
        assertEquals(Set.of("list", "show", "generate", "import", "rotate", "status", "expiry", "tags", "delete", "reveal",
                "backends", "routes", "health", "migrate", "rewrap", "cache", "reconcile", "help"),
                Usage.commands().keySet());
    }

    @Test
    void theUsageLineListsRequiredOptionsFirstThenOptionsFlagsAndArguments() {
        assertEquals("usage: keystore:generate --type L2|L3|L4 --owner KIND/ID [--algorithm ALGORITHM] [--size BITS]"
                + " [--region REGION] [--parent NAME:VERSION] [--expiry INSTANT] [--tags K=V,...] NAME",
                Usage.of("generate"));
        assertEquals("usage: keystore:import --file PATH|- --type L2|L3|L4 --owner KIND/ID [--encoding ENCODING]"
                + " [--algorithm ALGORITHM] [--size BITS] [--region REGION] [--parent NAME:VERSION] [--expiry INSTANT]"
                + " [--tags K=V,...] NAME", Usage.of("keystore:import"));
        assertEquals("usage: keystore:delete [--all] [--force] NAME:VERSION|NAME", Usage.of("delete"));
        assertEquals("usage: keystore:tags [--revision REV] NAME:VERSION K=V|none...", Usage.of("tags"));
        assertEquals("usage: keystore:show NAME:VERSION", Usage.of("show"));
        assertEquals("usage: keystore:health", Usage.of("health"));
        assertThrows(IllegalArgumentException.class, () -> Usage.of("nosuch"));
    }

    @Test
    void everyValueTakingParameterNamesItsPlaceholder() {
        for (Method m : Usage.commands().values()) {
            for (Usage.Argument a : Usage.arguments(m)) {
                assertFalse(!a.flag() && a.placeholder().equals("VALUE"), () -> Usage.functionName(m) + ": " + a);
                assertFalse(a.words().isBlank(), () -> Usage.functionName(m) + ": " + a);
            }
        }
    }

    @Test
    void helpMarksRequiredOptionsAndShowsDefaults() {
        String help = Usage.help(Usage.command("generate"));
        assertTrue(help.startsWith("keystore:generate - generate a key with fresh material\nusage: keystore:generate --type"),
                help);
        String required = help.substring(help.indexOf("required options:"), help.indexOf("   options:"));
        assertTrue(required.contains("--type L2|L3|L4") && required.contains("--owner KIND/ID"), required);
        assertFalse(required.contains("--size"), required);
        assertTrue(help.contains("--size BITS") && help.contains("(default 256)"), help);
        assertTrue(help.contains("arguments (required):") && help.contains("NAME "), help);
        assertFalse(help.contains("[optional]"), help);
    }

    @Test
    void aMissingRequiredOptionIsAUsageErrorNamingIt() {
        UsageException e = assertThrows(UsageException.class,
                () -> Arguments.required("generate", "--type", Arguments.REQUIRED));
        assertEquals(Usage.of("generate") + " (--type is required)", e.getMessage());
        // what the interactive console prints of a failed command: the line alone, no class name
        assertEquals(e.getMessage(), e.toString());
        assertEquals("x", Arguments.required("generate", "--type", "x"));
    }
}
