package org.openkcm.keystore.core.kek;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.core.testing.TestKeks;
import org.osgi.framework.BundleContext;

/** The {@code wrap} setting of the file and reference providers: the guard for a rolling upgrade. */
class WrapSettingTest {
    private static final byte[] DATA_KEY = TestKeks.kek(42);

    @TempDir
    Path dir;

    @Test
    void fileProviderWrapsAsConfiguredAndUnwrapsBothForms() {
        Path file = dir.resolve("local.kek");
        FileKekProvider kw = configuredFile(Map.of("path", file.toString(), "wrap", "kw"));
        assertEquals(KekRing.Wrap.KW, kw.wrapForm());
        byte[] kwWrapped = kw.wrap(1, DATA_KEY);
        assertEquals(KekRing.KW_WRAPPED_BYTES, kwWrapped.length, "wrap = kw writes what an older runtime reads");

        FileKekProvider byDefault = configuredFile(Map.of("path", file.toString()));
        assertEquals(KekRing.Wrap.GCM, byDefault.wrapForm());
        byte[] gcmWrapped = byDefault.wrap(1, DATA_KEY);
        assertEquals(KekRing.GCM_WRAPPED_BYTES, gcmWrapped.length);
        assertEquals(KekRing.GCM_WRAP_FORMAT, gcmWrapped[0] & 0xFF);

        // Switching the setting either way leaves every record readable.
        assertArrayEquals(DATA_KEY, byDefault.unwrap(1, kwWrapped));
        assertArrayEquals(DATA_KEY, kw.unwrap(1, gcmWrapped));
    }

    @Test
    void aModifiedConfigurationSwitchesTheWrap() {
        Path file = dir.resolve("local.kek");
        FileKekProvider provider = configuredFile(Map.of("path", file.toString(), "wrap", "KW"));
        assertEquals(KekRing.KW_WRAPPED_BYTES, provider.wrap(1, DATA_KEY).length);
        provider.modified(context(), config(FileKekProvider.Config.class, Map.of("path", file.toString(), "wrap", "gcm")));
        assertEquals(KekRing.GCM_WRAPPED_BYTES, provider.wrap(1, DATA_KEY).length);
        provider.reload();
        assertEquals(KekRing.GCM_WRAPPED_BYTES, provider.wrap(1, DATA_KEY).length, "a reload keeps the setting");
    }

    @Test
    void anUnknownWrapIsRefusedBeforeAnythingLoads() {
        Path file = dir.resolve("local.kek");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> configuredFile(Map.of("path", file.toString(), "wrap", "aes")));
        assertEquals(false, java.nio.file.Files.exists(file), "no KEK file created for a refused configuration");
        assertEquals(true, e.getMessage().contains("'gcm' or 'kw'"), e.getMessage());
        assertEquals(KekRing.Wrap.GCM, KekRing.Wrap.parse(""));
        assertEquals(KekRing.Wrap.GCM, KekRing.Wrap.parse(null));
        assertEquals(KekRing.Wrap.GCM, KekRing.Wrap.parse(" Gcm "));
    }

    @Test
    void referenceProviderWrapsAsConfigured() throws Exception {
        Path ring = dir.resolve("ring");
        java.nio.file.Files.writeString(ring, "1:" + java.util.Base64.getEncoder().encodeToString(TestKeks.kek(5)) + "\n");
        java.nio.file.Files.setPosixFilePermissions(ring, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        ReferenceKekProvider kw = new ReferenceKekProvider();
        kw.activate(config(ReferenceKekProvider.Config.class, Map.of("file", ring.toString(), "wrap", "kw")));
        byte[] kwWrapped = kw.wrap(1, DATA_KEY);
        assertEquals(KekRing.KW_WRAPPED_BYTES, kwWrapped.length);
        ReferenceKekProvider gcm = new ReferenceKekProvider();
        gcm.activate(config(ReferenceKekProvider.Config.class, Map.of("file", ring.toString())));
        assertEquals(KekRing.GCM_WRAPPED_BYTES, gcm.wrap(1, DATA_KEY).length);
        assertArrayEquals(DATA_KEY, gcm.unwrap(1, kwWrapped));
    }

    private static FileKekProvider configuredFile(Map<String, Object> values) {
        FileKekProvider provider = new FileKekProvider();
        provider.configure(context(), config(FileKekProvider.Config.class, values));
        return provider;
    }

    /** A configuration annotation with the given values (by method name, '_' as '.') and the defaults otherwise. */
    private static <T> T config(Class<T> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            Object value = values.get(method.getName().replace('_', '.'));
            return value != null ? value : method.getDefaultValue();
        }));
    }

    /** A bundle context with no framework properties and no data area. */
    private static BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(BundleContext.class.getClassLoader(),
                new Class<?>[] {BundleContext.class}, (proxy, method, args) -> null);
    }
}
