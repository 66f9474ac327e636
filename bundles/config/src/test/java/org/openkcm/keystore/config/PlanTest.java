package org.openkcm.keystore.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

class PlanTest {

    private static final ConfigKey L4 = ConfigKey.factory("org.openkcm.keystore.route", "l4");
    private static final ConfigKey L2 = ConfigKey.factory("org.openkcm.keystore.route", "l2");
    private static final String CFG = "file:/opt/openkcm/config/org.openkcm.keystore.route-l4.cfg";

    private static Map<ConfigKey, Desired> desired(Desired... ds) {
        Map<ConfigKey, Desired> m = new TreeMap<>();
        for (Desired d : ds) {
            m.put(d.key(), d);
        }
        return m;
    }

    private static Desired yaml(ConfigKey key, Map<String, Object> props) {
        return new Desired(key, props, Desired.YAML);
    }

    /** As ConfigAdmin returns it: with service.pid and service.factoryPid. */
    private static Plan.Existing existing(ConfigKey key, Map<String, Object> props) {
        Map<String, Object> m = new HashMap<>(props);
        m.put(Names.SERVICE_PID, key.servicePid());
        m.put(Names.FACTORY_PID, key.pid());
        return new Plan.Existing(key, m);
    }

    private static Map<String, Object> with(Map<String, Object> props, String k, Object v) {
        Map<String, Object> m = new TreeMap<>(props);
        m.put(k, v);
        return m;
    }

    private static final Map<String, Object> ROUTE = Map.of("tiers", new String[] {"L4"}, "target", "memory");

    @Test
    void createsWhatIsMissingWithTheMarker() {
        Plan plan = Plan.of(desired(yaml(L4, ROUTE)), List.of());
        assertEquals(1, plan.actions().size());
        Plan.Put put = (Plan.Put) plan.actions().get(0);
        assertTrue(put.create());
        assertTrue(Plan.sameProperties(with(ROUTE, Names.SOURCE, "yaml"), put.properties()));
        assertTrue(plan.warnings().isEmpty());
    }

    @Test
    void writesNothingWhenNothingChanged() {
        Plan plan = Plan.of(desired(yaml(L4, ROUTE)),
                List.of(existing(L4, with(Map.of("tiers", new String[] {"L4"}, "target", "memory"), Names.SOURCE, "yaml"))));
        assertEquals(List.of(), plan.actions(), "equal arrays by content: no update, no component restart");
    }

    @Test
    void updatesWhenAValueItsTypeOrTheSourceChanged() {
        Map<String, Object> stored = with(ROUTE, Names.SOURCE, "yaml");
        assertEquals(1, Plan.of(desired(yaml(L4, with(ROUTE, "target", "openbao"))), List.of(existing(L4, stored)))
                .actions().size());
        assertEquals(1, Plan.of(desired(yaml(L4, with(ROUTE, "priority", 1))),
                List.of(existing(L4, with(stored, "priority", 1L)))).actions().size(), "Integer 1 is not Long 1");
        assertEquals(1, Plan.of(desired(yaml(L4, with(ROUTE, "tiers", new String[] {"L3", "L4"}))),
                List.of(existing(L4, stored))).actions().size());
        assertEquals(1, Plan.of(desired(new Desired(L4, ROUTE, Desired.ENV)), List.of(existing(L4, stored)))
                .actions().size());
    }

    @Test
    void deletesOnlyWhatItWrote() {
        Plan plan = Plan.of(desired(), List.of(
                existing(L4, with(ROUTE, Names.SOURCE, "yaml")),
                existing(L2, ROUTE),
                existing(ConfigKey.factory("org.openkcm.keystore.route", "from-cfg"),
                        with(ROUTE, Names.FILEINSTALL_FILENAME, CFG))));
        assertEquals(List.of(new Plan.Delete(L4)), plan.actions());
    }

    @Test
    void aCfgConfigurationIsShadowedWhole() {
        Map<String, Object> fromCfg = new TreeMap<>(Map.of("tiers", new String[] {"L4"}, "target", "openbao",
                "region", "eu", Names.FILEINSTALL_FILENAME, CFG));
        Plan plan = Plan.of(desired(yaml(L4, Map.of("target", "memory"))), List.of(existing(L4, fromCfg)));

        Plan.Put put = (Plan.Put) plan.actions().get(0);
        assertFalse(put.create());
        assertEquals(Map.of("target", "memory", Names.SOURCE, "yaml", Names.SHADOWS, CFG), put.properties(),
                "config.yaml's properties only: tiers and region of the .cfg are not merged, FileInstall's property is gone");
        assertEquals(1, plan.warnings().size());
        assertTrue(plan.warnings().get(0).startsWith("config.yaml shadows " + CFG + " for " + L4), plan.warnings().get(0));
        assertEquals(List.of(CFG + " (" + L4 + ")"), plan.shadowed());
    }

    @Test
    void aShadowStaysMarkedAcrossUpdates() {
        Map<String, Object> ours = Map.of("target", "memory", Names.SOURCE, "yaml", Names.SHADOWS, CFG);
        assertEquals(List.of(), Plan.of(desired(yaml(L4, Map.of("target", "memory"))), List.of(existing(L4, ours)))
                .actions());
        Plan.Put put = (Plan.Put) Plan.of(desired(yaml(L4, Map.of("target", "openbao"))), List.of(existing(L4, ours)))
                .actions().get(0);
        assertEquals(CFG, put.properties().get(Names.SHADOWS));
    }

    @Test
    void whenFileInstallWritesOverAShadowItIsShadowedAgain() {
        Map<String, Object> rewritten = Map.of("target", "openbao", Names.FILEINSTALL_FILENAME, CFG);
        Plan.Put put = (Plan.Put) Plan.of(desired(yaml(L4, Map.of("target", "memory"))), List.of(existing(L4, rewritten)))
                .actions().get(0);
        assertEquals(Map.of("target", "memory", Names.SOURCE, "yaml", Names.SHADOWS, CFG), put.properties());
    }

    @Test
    void aShadowNoLongerWantedIsHandedBackNotDeleted() {
        Map<String, Object> ours = Map.of("target", "memory", Names.SOURCE, "yaml", Names.SHADOWS, CFG);
        Plan plan = Plan.of(desired(), List.of(existing(L4, ours)));
        assertEquals(1, plan.actions().size());
        Plan.Release release = (Plan.Release) plan.actions().get(0);
        assertEquals(CFG, release.file());
        assertEquals(Map.of("target", "memory"), release.properties(), "markers removed, so FileInstall may take it back");
    }

    @Test
    void aConfigurationMadeElsewhereIsTakenOverWithAWarning() {
        Plan plan = Plan.of(desired(yaml(L4, ROUTE)), List.of(existing(L4, Map.of("target", "shell"))));
        assertEquals(1, plan.actions().size());
        assertTrue(plan.warnings().get(0).contains("takes over configuration " + L4), plan.warnings().get(0));
        assertFalse(((Plan.Put) plan.actions().get(0)).properties().containsKey(Names.SHADOWS));
    }
}
