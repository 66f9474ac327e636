package org.openkcm.keystore.itest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.After;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyMaterial;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.Keystore;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.sdk.FaultyKeystore;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * What the tests of moving between KEK providers share: configurations deleted after each test,
 * waiting for a set of KEK providers, generating while components restart, reading which KEK
 * a stored record names, and the interrupted re-wraps that move every record to the new KEK.
 */
public abstract class KekTestSupport extends RoutingTestSupport {
    protected static final String OPERATIONS_PID = "org.openkcm.keystore.operations";

    private final List<org.osgi.service.cm.Configuration> kekConfigurations = new ArrayList<>();

    @After
    public void deleteKekConfigurations() throws IOException {
        for (org.osgi.service.cm.Configuration c : kekConfigurations) {
            try {
                c.delete();
            } catch (IllegalStateException gone) {
                // deleted by the test
            }
        }
    }

    /** Creates or replaces the configuration of {@code pid}; deleted after the test. */
    protected org.osgi.service.cm.Configuration configure(String pid, Map<String, Object> properties) throws IOException {
        org.osgi.service.cm.Configuration c = configurationAdmin.getConfiguration(pid, "?");
        c.update(dictionary(properties));
        if (!kekConfigurations.contains(c)) {
            kekConfigurations.add(c);
        }
        return c;
    }

    /** Waits until exactly these KEK ids are registered (and loaded). */
    protected void awaitKekIds(String... ids) throws InterruptedException {
        awaitCondition("KEK providers " + List.of(ids), () -> {
            try {
                List<String> present = new ArrayList<>();
                for (var ref : bundleContext.getServiceReferences(KekProvider.class, null)) {
                    KekProvider p = bundleContext.getService(ref);
                    try {
                        if (p != null) {
                            present.add(p.kekId());
                        }
                    } catch (RuntimeException notLoaded) {
                        // activating
                    } finally {
                        bundleContext.ungetService(ref);
                    }
                }
                return present.containsAll(List.of(ids)) && present.size() == ids.length;
            } catch (org.osgi.framework.InvalidSyntaxException e) {
                throw new AssertionError(e);
            }
        });
    }

    /** Generates a key, waiting while the components restart after a configuration change. */
    protected static KeyId awaitGenerate(KeystoreOperations ops, String name) throws InterruptedException {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (true) {
            try {
                return ops.generate(spec(name, KeyType.L2, Owner.tenant("acme"), null)).id();
            } catch (UnavailableException | IllegalStateException e) {
                if (System.currentTimeMillis() > deadline) {
                    fail("generate " + name + ": " + e.getMessage());
                }
                Thread.sleep(20);
            }
        }
    }

    /** True if a generate is refused as unavailable with a {@code KEK refused:} message containing {@code reason}. */
    protected static boolean refusesToSeal(KeystoreOperations ops, String reason) {
        try {
            ops.generate(spec("refused-" + System.nanoTime(), KeyType.L2, Owner.tenant("acme"), null));
            throw new AssertionError("a key was sealed although sealing should be refused");
        } catch (UnavailableException e) {
            return e.getMessage().contains("KEK refused: ") && e.getMessage().contains(reason);
        } catch (IllegalStateException restarting) {
            return false;
        }
    }

    protected static boolean opens(KeystoreOperations ops, KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes().length == 32;
        } catch (UnavailableException | IllegalStateException e) {
            return false;
        }
    }

    protected static boolean unavailable(KeystoreOperations ops, KeyId id, String reason) {
        try (KeyMaterial m = ops.get(id)) {
            return false;
        } catch (UnavailableException e) {
            return e.getMessage().contains(reason);
        } catch (IllegalStateException restarting) {
            return false;
        }
    }

    protected static byte[] material(KeystoreOperations ops, KeyId id) {
        try (KeyMaterial m = ops.get(id)) {
            return m.copyBytes();
        }
    }

    protected static int count(Keystore keystore) {
        return keystore.listKeys(KeyFilter.all()).keys().size();
    }

    /** The KEK id a record names: its header is format (1 byte), id length (1 byte), id (RECORD-FORMAT.md). */
    protected static String recordKekId(Keystore keystore, KeyId id) {
        byte[] record = keystore.retrieveKey(id).sealed().bytes();
        return new String(record, 2, record[1] & 0xFF, StandardCharsets.US_ASCII);
    }

    /** An owner-only file holding {@code value} (a token, a PIN), for a {@code file:} reference. */
    protected static Path secretFile(Path file, String value) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, value);
        return file;
    }

    /** The keys among {@code ids} whose stored record names {@code kekId}. */
    protected static Set<KeyId> underKek(Keystore raw, Set<KeyId> ids, String kekId) {
        Set<KeyId> under = new HashSet<>();
        for (KeyId id : ids) {
            if (kekId.equals(recordKekId(raw, id))) {
                under.add(id);
            }
        }
        return under;
    }

    /**
     * Waits until the operations component runs with these values of seal.kek.id and open.kek.ids
     * (null: not set). Read from the properties of the service it registers, not from Declarative
     * Services' description of its configuration: Felix SCR puts a new configuration into that
     * description before it calls the component's modified method, and updates the service's
     * properties only after that method returned, so only they say that the values are in force.
     */
    protected void awaitOperations(String seal, String[] open) throws InterruptedException {
        awaitCondition("the operations with seal.kek.id=" + seal + ", open.kek.ids=" + Arrays.toString(open), () -> {
            for (ServiceReference<KeystoreOperations> ref : operationsReferences()) {
                Object openValue = ref.getProperty("open.kek.ids");
                return seal.equals(ref.getProperty("seal.kek.id"))
                        && (open == null ? openValue == null
                                : openValue instanceof String[] values && Arrays.equals(open, values));
            }
            return false;
        });
    }

    private java.util.Collection<ServiceReference<KeystoreOperations>> operationsReferences() {
        try {
            return bundleContext.getServiceReferences(KeystoreOperations.class, "(component.name=" + OPERATIONS_PID + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A move between two KEKs, at the point where {@code to} has just become the sealing KEK: the
     * records of {@code materials} (all but the last under {@code from}) are in {@code raw}, which
     * {@code faulty} wraps as the routed backend; {@code kekFolder} holds the known-keks record.
     */
    protected record KekMove(String from, String to, Keystore raw, FaultyKeystore faulty, KeystoreOperations ops,
            KeystoreAdministration admin, Path kekFolder, Map<KeyId, byte[]> materials) {
    }

    /** What a move test does once every record is under the new KEK and {@code from} has left the allow-list. */
    @FunctionalInterface
    protected interface MoveStep {
        void run() throws Exception;
    }

    /**
     * Finishes {@code move} with the core's re-wrap, interrupted twice, and checks each run's exact
     * report and every key's KEK after it:
     * <ol>
     * <li>the backend is unreachable for the first 3 re-wraps (nothing written for them);</li>
     * <li>{@code from} off the allow-list too early: its remaining records are unavailable, never wrong material;</li>
     * <li>the first re-wrap reaches the backend, which writes it, then the call fails;</li>
     * <li>a third run finishes that key (its lifecycle MAC) and releases {@code from}; a fourth finds nothing;</li>
     * <li>{@code from} leaves the allow-list, {@code afterAllowList} runs, and every key reads the same material
     *     under {@code to}, as does a key generated then.</li>
     * </ol>
     */
    protected void finishMoveByInterruptedRewraps(KekMove move, MoveStep afterAllowList) throws Exception {
        String from = move.from();
        String to = move.to();
        Set<KeyId> keys = move.materials().keySet();
        int count = keys.size();

        // run 1, interrupted before the backend writes
        move.faulty().failBefore(FaultyKeystore.Operation.REWRAP, 3, () -> new UnavailableException("injected outage"));
        RewrapReport first = move.admin().rewrapAll();
        move.faulty().reset();
        assertEquals(first.toString(), to, first.kekId());
        assertEquals(first.toString(), count, first.examined());
        assertEquals(first.toString(), 3, first.failed().size());
        assertEquals(first.toString(), count - 4, first.rewrapped());
        assertEquals(first.toString(), 1, first.alreadyCurrent());
        assertFalse(first.complete());
        assertTrue(first.toString(), first.failed().values().stream().allMatch(reason -> reason.contains("injected outage")));
        assertEquals("exactly the keys reported failed are still under " + from, first.failed().keySet(),
                underKek(move.raw(), keys, from));
        assertEquals(count - 3, underKek(move.raw(), keys, to).size());
        assertTrue(from + " is not released while records use it", knownKek(move, from, "used"));

        // taking the old KEK off the allow-list now makes its remaining records unavailable, never wrong material
        KeyId stillOld = first.failed().keySet().iterator().next();
        configure(OPERATIONS_PID, Map.of("seal.kek.id", to, "open.kek.ids", new String[] {to}));
        awaitOperations(to, new String[] {to});
        awaitCondition(from + " off the allow-list",
                () -> unavailable(move.ops(), stillOld, "'" + from + "' is not on the allow-list"));
        configure(OPERATIONS_PID, Map.of("seal.kek.id", to));
        awaitOperations(to, null);

        // run 2, interrupted after the backend wrote
        move.faulty().failAfter(FaultyKeystore.Operation.REWRAP, 1,
                () -> new UnavailableException("connection lost after the write"));
        RewrapReport second = move.admin().rewrapAll();
        move.faulty().reset();
        assertEquals(second.toString(), count, second.examined());
        assertEquals(second.toString(), 1, second.failed().size());
        assertEquals(second.toString(), 2, second.rewrapped());
        assertEquals(second.toString(), count - 3, second.alreadyCurrent());
        KeyId halfDone = second.failed().keySet().iterator().next();
        assertTrue(first.failed().containsKey(halfDone));
        assertEquals("its record was written under " + to, to, recordKekId(move.raw(), halfDone));
        assertEquals(Set.of(), underKek(move.raw(), keys, from));
        assertEquals(count, underKek(move.raw(), keys, to).size());

        // run 3 finishes exactly that key (no re-wrap runs in the background), run 4 finds nothing
        RewrapReport third = move.admin().rewrapAll();
        assertTrue(third.toString(), third.complete());
        assertEquals(third.toString(), 1, third.rewrapped());
        assertEquals(third.toString(), count - 1, third.alreadyCurrent());
        assertTrue(from + " is released by a complete re-wrap", knownKek(move, from, "released"));
        RewrapReport fourth = move.admin().rewrapAll();
        assertEquals(fourth.toString(), 0, fourth.rewrapped());
        assertEquals(fourth.toString(), count, fourth.alreadyCurrent());

        // the old KEK leaves the allow-list: every key reads the same material under the new one
        configure(OPERATIONS_PID, Map.of("seal.kek.id", to, "open.kek.ids", new String[] {to}));
        awaitOperations(to, new String[] {to});
        afterAllowList.run();
        for (Map.Entry<KeyId, byte[]> e : move.materials().entrySet()) {
            assertEquals(e.getKey().toString(), to, recordKekId(move.raw(), e.getKey()));
            assertArrayEquals(e.getKey().toString(), e.getValue(), material(move.ops(), e.getKey()));
        }
        KeyId later = awaitGenerate(move.ops(), "later");
        assertEquals(to, recordKekId(move.raw(), later));
    }

    /** Whether the known-keks record lists version 1 of {@code kekId} in {@code state} (used, released). */
    private static boolean knownKek(KekMove move, String kekId, String state) throws IOException {
        return Files.readString(move.kekFolder().resolve("known-keks")).lines()
                .anyMatch(l -> l.matches(java.util.regex.Pattern.quote(kekId) + " 1 \\S+ " + state));
    }
}
