package org.openkcm.keystore.core.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.KeySpec;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.Owner;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.core.operations.DefaultKeystoreOperations;
import org.openkcm.keystore.core.operations.OperationsComponent;
import org.openkcm.keystore.core.testing.TestKeks;
import org.openkcm.keystore.memory.MemoryKeystore;

/** The KeystoreAdministration component: over the core's own operations, and only over them. */
class AdministrationComponentTest {

    @Test
    void itAdministersTheKeysOfTheOperationsItWasGiven() throws Exception {
        DefaultKeystoreOperations ops = DefaultKeystoreOperations.of(new MemoryKeystore(),
                List.<KekProvider>of(TestKeks.fixed("t", 1)));
        ops.generate(KeySpec.builder().name("a").type(KeyType.L4).algorithm("AES").keySize(256)
                .owner(Owner.service("svc")).build());
        AdministrationComponent component = activated(new OperationsComponent(ops));

        RewrapReport report = component.rewrapAll();
        assertEquals(1, report.examined(), report.toString());
        assertEquals("t", report.kekId());
        assertTrue(report.complete(), report.toString());
        assertTrue(component.cacheStatistics().isEmpty(), "no cache given: no counters");
    }

    @Test
    void anotherOperationsServiceIsRefusedAtActivation() {
        KeystoreOperations remote = (KeystoreOperations) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {KeystoreOperations.class}, (proxy, method, args) -> null);
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> activated(remote));
        assertTrue(refused.getMessage().contains(OperationsComponent.PID), refused.getMessage());
    }

    /** As DS does: the reference set, then activate. */
    private static AdministrationComponent activated(KeystoreOperations operations) throws Exception {
        AdministrationComponent component = new AdministrationComponent();
        Field field = AdministrationComponent.class.getDeclaredField("operations");
        field.setAccessible(true);
        field.set(component, operations);
        component.activate();
        return component;
    }
}
