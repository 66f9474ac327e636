package org.openkcm.keystore.shell;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.ReconciliationReport;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code keystore:cache} (the cache counters) and {@code keystore:reconcile [--remove]}. */
@Component(service = TransactionCommands.class)
@GogoCommand(scope = "keystore", function = {"cache", "reconcile"})
public class TransactionCommands {
    @Reference
    private KeystoreAdministration admin;

    public TransactionCommands() {
    }

    TransactionCommands(KeystoreAdministration admin) {
        this.admin = admin;
    }

    @Descriptor("the cache counters per layer and tier: hits, misses, loads, evictions, invalidations, size")
    public String cache() {
        Table table = new Table("LAYER", "TIER", "HITS", "MISSES", "HIT %", "LOADS", "EVICTIONS", "INVALIDATIONS", "SIZE");
        for (CacheStatistics s : admin.cacheStatistics()) {
            long reads = s.hits() + s.misses();
            table.row(s.layer(), s.tier(), s.hits(), s.misses(), reads == 0 ? "-" : String.format("%.1f", 100.0 * s.hits() / reads),
                    s.loads(), s.evictions(), s.invalidations(), s.size());
        }
        return table.toString();
    }

    @Descriptor("compare what each backend holds with what the keystore knows; report orphans and missing keys")
    public String reconcile(
            @Descriptor("delete the orphans found") @Parameter(names = "--remove", presentValue = "true", absentValue = "false") boolean remove) {
        Table table = new Table("BACKEND", "HELD", "KNOWN", "ORPHANS", "RECENT", "IN DOUBT", "MISSING", "REMOVED", "FAILED");
        StringBuilder detail = new StringBuilder();
        for (ReconciliationReport r : admin.reconcile(remove)) {
            table.row(r.backend(), r.held(), r.known(), r.orphans().size(), r.recent().size(), r.inDoubt().size(),
                    r.missing().size(), r.removed().size(), r.failures().size());
            r.orphans().forEach(id -> detail.append("orphan  ").append(r.backend()).append(' ').append(id)
                    .append(r.removed().contains(id) ? " (removed)" : "").append('\n'));
            r.missing().forEach(id -> detail.append("missing ").append(r.backend()).append(' ').append(id).append('\n'));
            r.failures().forEach((id, why) -> detail.append("failed  ").append(r.backend()).append(' ').append(id)
                    .append(": ").append(why).append('\n'));
        }
        return table + detail.toString();
    }
}
