package org.openkcm.keystore.shell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.ReconciliationReport;

/**
 * How the shells' words reach a command: bound by the method's annotations, or refused with one
 * line naming the command's usage and what was wrong, never Gogo's {@code Cannot coerce} or a
 * Java type. Words that do not fit never reach the command (its keystore here is null: any call
 * of it would fail with a NullPointerException instead of the usage line).
 */
class CheckedCommandTest {

    private final KeyCommands keys = new KeyCommands(null, null, null);

    private CheckedCommand command(Object commands, String name) {
        return CommandServices.of(commands).stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    private UsageException refused(String name, String... words) {
        return assertThrows(UsageException.class, () -> command(keys, name).execute(null, List.of((Object[]) words)));
    }

    @Test
    void aMissingArgumentIsTheUsageLineNamingIt() {
        UsageException e = refused("show");
        assertEquals("usage: keystore:show NAME:VERSION (NAME:VERSION is missing)", e.getMessage());
        // what the interactive console prints of a failed command: the line alone
        assertEquals(e.getMessage(), e.toString());
        assertEquals(Usage.of("generate") + " (NAME is missing)",
                refused("generate", "--type", "L3", "--owner", "tenant/acme").getMessage());
    }

    @Test
    void tooManyArgumentsIsTheUsageLineNamingTheFirstExtraOne() {
        assertEquals("usage: keystore:show NAME:VERSION (unexpected argument b:1)", refused("show", "a:1", "b:1").getMessage());
        assertEquals(Usage.of("generate") + " (unexpected argument b)", refused("generate", "a", "b", "c", "d").getMessage());
        assertEquals("usage: keystore:health (unexpected argument now)",
                assertThrows(UsageException.class, () -> command(new AdminCommands(null, null), "health")
                        .execute(null, List.of("now"))).getMessage());
    }

    @Test
    void anUnknownOptionIsAUsageErrorEvenWhereItFitsTheArgumentCount() {
        assertEquals("usage: keystore:show NAME:VERSION (unknown option --x)", refused("show", "--x").getMessage());
        assertEquals(Usage.of("generate") + " (unknown option --colour)",
                refused("generate", "--colour", "blue", "--type", "L3", "--owner", "tenant/acme", "k").getMessage());
        assertEquals(Usage.of("delete") + " (unknown option -a)", refused("delete", "-a", "k").getMessage());
    }

    @Test
    void anOptionWithoutItsValueIsAUsageError() {
        assertEquals(Usage.of("generate") + " (--owner needs a value)",
                refused("generate", "--type", "L3", "k", "--owner").getMessage());
    }

    @Test
    void noUsageMessageNamesAJavaType() {
        for (String[] words : List.of(new String[0], new String[] {"a", "b", "c", "d", "e"}, new String[] {"--x"})) {
            for (CheckedCommand c : Stream.of(keys, new AdminCommands(null, null), new TransactionCommands(null, null))
                    .flatMap(o -> CommandServices.of(o).stream()).toList()) {
                try {
                    c.bind(null, List.of((Object[]) words));
                } catch (UsageException e) {
                    assertTrue(e.getMessage().startsWith("usage: keystore:" + c.name()), e::getMessage);
                    assertFalse(e.getMessage().matches(".*\\b(String|Token|CommandSession|coerce)\\b.*"), e::getMessage);
                }
            }
        }
    }

    @Test
    void optionsAreBoundByNameWhereverTheyStandAndAbsentOnesTakeTheirDefault() {
        Object[] generate = command(keys, "generate").bind(null,
                List.of("k", "--owner", "tenant/acme", "--size", "128", "--type", "L3"));
        // the session comes first (null here), then the words in the method's order
        assertArrayEquals(new Object[] {null, "L3", "tenant/acme", "AES", "128", Arguments.ABSENT, Arguments.ABSENT,
                Arguments.ABSENT, Arguments.ABSENT, "k"}, generate);
        Object[] delete = command(keys, "delete").bind(null, List.of("--force", "k:1"));
        assertArrayEquals(new Object[] {null, false, true, "k:1"}, delete);
        // "-" alone is a value (standard input), not an option
        Object[] imported = command(keys, "import").bind(null,
                List.of("--file", "-", "--type", "L4", "--owner", "node/n", "k"));
        assertEquals("-", imported[1]);
    }

    @Test
    void theLastArgumentTakesTheRestOfTheWordsAndNeedsOne() {
        Object[] tags = command(keys, "tags").bind(null, List.of("--revision", "3", "k:1", "a=b", "c=d"));
        assertEquals("3", tags[1]);
        assertEquals("k:1", tags[2]);
        assertArrayEquals(new String[] {"a=b", "c=d"}, (String[]) tags[3]);
        assertEquals(Usage.of("tags") + " (K=V|none is missing)", refused("tags", "k:1").getMessage());
    }

    @Test
    void aCallThatFitsRunsTheCommandAndItsOwnFailuresPassUnchanged() throws Exception {
        List<Object> asked = new ArrayList<>();
        KeystoreAdministration admin = new KeystoreAdministration() {
            @Override
            public List<ReconciliationReport> reconcile(boolean remove) {
                asked.add(remove);
                return List.of();
            }

            @Override
            public List<ReconciliationReport> reconcile(java.util.Collection<String> remove) {
                asked.add(List.copyOf(remove));
                return List.of();
            }

            @Override
            public List<org.openkcm.keystore.api.BackendStatus> backends() {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<org.openkcm.keystore.api.RouteDescription> routes() {
                throw new UnsupportedOperationException();
            }

            @Override
            public org.openkcm.keystore.api.MigrationReport migrate(org.openkcm.keystore.api.KeyFilter filter,
                    java.util.function.Consumer<org.openkcm.keystore.api.MigrationReport> progress) {
                throw new UnsupportedOperationException();
            }

            @Override
            public org.openkcm.keystore.api.RewrapReport rewrapAll() {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<org.openkcm.keystore.api.CacheStatistics> cacheStatistics() {
                throw new UnsupportedOperationException();
            }
        };
        CheckedCommand reconcile = command(new TransactionCommands(admin, record -> { }), "reconcile");

        assertTrue(reconcile.execute(null, List.of("--remove", "missing/m/k:1", "missing/m/k:2")).toString()
                .startsWith("BACKEND"));
        reconcile.execute(null, List.of());
        assertEquals(List.of(List.of("missing/m/k:1", "missing/m/k:2"), false), asked);
        // the command's own refusals: a required option (its usage line) and bad input (not usage)
        // (generate is audited: with an audit log that accepts every record, the command itself refuses)
        KeyCommands audited = new KeyCommands(null, null, record -> { });
        assertEquals(Usage.of("generate") + " (--type is required)", assertThrows(UsageException.class,
                () -> command(audited, "generate").execute(null, List.of("--owner", "tenant/acme", "k"))).getMessage());
        assertThrows(InvalidInputException.class, () -> command(keys, "list").execute(null, List.of("--page-size", "0")));
    }

    @Test
    void everyKeystoreCommandButHelpIsRegisteredFromItsClass() {
        TreeSet<String> names = new TreeSet<>();
        Stream.of(keys, new AdminCommands(null, null), new TransactionCommands(null, null))
                .forEach(o -> CommandServices.of(o).forEach(c -> names.add(c.name())));
        TreeSet<String> expected = new TreeSet<>(Usage.commands().keySet());
        expected.remove("help"); // registered by HelpCommands, only where Gogo's help is
        assertEquals(expected, names);
        assertEquals("keystore:import", command(keys, "import").toString());
        assertTrue(command(keys, "import").description().startsWith("import key material"));
    }
}
