package org.openkcm.keystore.itest;

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
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.UnavailableException;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * What the tests of moving between KEK providers share: configurations deleted after each test,
 * waiting for a set of KEK providers, generating while components restart, and reading which KEK
 * a stored record names.
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
     * (null: not set), as Declarative Services reports its configuration.
     */
    protected void awaitOperations(String seal, String[] open) throws InterruptedException {
        awaitCondition("the operations with seal.kek.id=" + seal + ", open.kek.ids=" + Arrays.toString(open), () -> {
            for (ComponentDescriptionDTO d : serviceComponentRuntime.getComponentDescriptionDTOs()) {
                if (!d.name.equals(OPERATIONS_PID)) {
                    continue;
                }
                for (ComponentConfigurationDTO c : serviceComponentRuntime.getComponentConfigurationDTOs(d)) {
                    Object openValue = c.properties.get("open.kek.ids");
                    return c.state == ComponentConfigurationDTO.ACTIVE && seal.equals(c.properties.get("seal.kek.id"))
                            && (open == null ? openValue == null
                                    : openValue instanceof String[] values && Arrays.equals(open, values));
                }
            }
            return false;
        });
    }
}
