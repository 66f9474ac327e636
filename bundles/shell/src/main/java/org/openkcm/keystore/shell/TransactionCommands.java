package org.openkcm.keystore.shell;

import java.time.Clock;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.audit.AuditLog;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * {@code keystore:cache} (the cache counters) and {@code keystore:reconcile [--remove]}, an admin
 * operation that is audited ({@link ShellAudit}) and not run without a working audit log.
 */
@Component(service = TransactionCommands.class)
@GogoCommand(scope = "keystore", function = {"cache", "reconcile"})
public class TransactionCommands {
    @Reference
    private KeystoreAdministration admin;

    /** Optional and dynamic: {@code cache} works without it; {@code reconcile} refuses (fail closed). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile AuditLog auditLog;

    private final ShellAudit audit = new ShellAudit(() -> auditLog, Clock.systemUTC());

    public TransactionCommands() {
    }

    TransactionCommands(KeystoreAdministration admin, AuditLog auditLog) {
        this.admin = admin;
        this.auditLog = auditLog;
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

    @Descriptor("compare what each backend holds with what the keystore knows; report orphans and missing keys; --remove deletes orphans and forgets missing keys")
    public String reconcile(CommandSession session,
            @Descriptor("delete the orphans found, and forget the missing keys (their backend no longer holds them)") @Parameter(names = "--remove", presentValue = "true", absentValue = "false") boolean remove) {
        return audit.run(session, remove ? "reconcile-remove" : "reconcile", null, () -> reconcileNow(remove));
    }

    private String reconcileNow(boolean remove) {
        Table table = new Table("BACKEND", "HELD", "KNOWN", "ORPHANS", "RECENT", "IN DOUBT", "MISSING", "REMOVED", "FORGOTTEN",
                "FAILED");
        StringBuilder detail = new StringBuilder();
        int unresolved = 0;
        for (ReconciliationReport r : admin.reconcile(remove)) {
            table.row(r.backend(), r.held(), r.known(), r.orphans().size(), r.recent().size(), r.inDoubt().size(),
                    r.missing().size(), r.removed().size(), r.forgotten().size(), r.failures().size());
            r.orphans().forEach(id -> detail.append("orphan  ").append(r.backend()).append(' ').append(id)
                    .append(r.removed().contains(id) ? " (removed)" : "").append('\n'));
            for (var id : r.missing()) {
                boolean forgotten = r.forgotten().contains(id);
                unresolved += forgotten ? 0 : 1;
                detail.append("missing ").append(r.backend()).append(' ').append(id)
                        .append(forgotten ? " (forgotten)" : "").append('\n');
            }
            r.failures().forEach((id, why) -> detail.append("failed  ").append(r.backend()).append(' ').append(id)
                    .append(": ").append(why).append('\n'));
        }
        if (unresolved > 0) {
            detail.append(MISSING_HINT).append('\n');
        }
        return table + detail.toString();
    }

    /** What a missing key means and how to clear it, printed under a report that lists missing keys. */
    static final String MISSING_HINT = "missing: the keystore recorded these keys in that backend, which no longer holds them "
            + "(a volatile backend such as memory loses its keys when it or the runtime restarts); "
            + "keystore:reconcile --remove forgets them";
}
