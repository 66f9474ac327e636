package org.openkcm.keystore.shell;

import java.time.Clock;
import java.util.Arrays;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.audit.AuditLog;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * {@code keystore:cache} (the cache counters) and {@code keystore:reconcile [--remove ID...]}, an admin
 * operation that is audited ({@link ShellAudit}) and not run without a working audit log.
 */
@Component(service = {}, immediate = true)
public class TransactionCommands {
    @Reference
    private KeystoreAdministration admin;

    private CommandServices shell;

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

    /** Registers the commands with the shell while the services they need are there. */
    @Activate
    void activate(BundleContext context) {
        shell = CommandServices.register(context, this);
    }

    @Deactivate
    void deactivate() {
        shell.close();
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

    @Descriptor("compare what each backend holds with what the keystore knows; report orphans (records this runtime wrote and abandoned), unknown keys (never removed), keys in doubt and missing keys, each finding with an id; --remove ID... deletes the orphans and forgets the missing keys named, if the evidence still holds")
    public String reconcile(CommandSession session,
            @Descriptor("remove the findings named by their ids, as a report printed them") @Parameter(names = "--remove", presentValue = "true", absentValue = "false") boolean remove,
            @Descriptor("[ID] - the id of a finding to remove (orphan/BACKEND/NAME:VERSION/DIGEST or missing/BACKEND/NAME:VERSION)") String... ids) {
        List<String> named = ids == null ? List.of() : Arrays.asList(ids);
        if (remove && named.isEmpty()) {
            throw new UsageException(Usage.of("reconcile") + " (--remove needs the ids of the findings to remove, from a report)");
        }
        if (!remove && !named.isEmpty()) {
            throw new UsageException(Usage.of("reconcile") + " (ids are given only with --remove)");
        }
        return audit.run(session, remove ? "reconcile-remove" : "reconcile", null,
                () -> reconcileNow(named));
    }

    private String reconcileNow(List<String> named) {
        Table table = new Table("BACKEND", "HELD", "KNOWN", "ORPHANS", "RECENT", "IN DOUBT", "MISSING", "REMOVED", "FORGOTTEN",
                "FAILED", "UNKNOWN");
        StringBuilder detail = new StringBuilder();
        int unresolved = 0;
        int findings = 0;
        int unknown = 0;
        for (ReconciliationReport r : named.isEmpty() ? admin.reconcile(false) : admin.reconcile(named)) {
            table.row(r.backend(), r.held(), r.known(), r.orphans().size(), r.recent().size(), r.inDoubt().size(),
                    r.missing().size(), r.removed().size(), r.forgotten().size(), r.failures().size(), r.unknown().size());
            for (var id : r.orphans()) {
                boolean removed = r.removed().contains(id);
                findings += removed ? 0 : 1;
                detail.append("orphan  ").append(r.backend()).append(' ').append(id)
                        .append(removed ? " (removed)" : "").append("  id ").append(r.ids().get(id)).append('\n');
            }
            for (var id : r.missing()) {
                boolean forgotten = r.forgotten().contains(id);
                unresolved += forgotten ? 0 : 1;
                findings += forgotten ? 0 : 1;
                detail.append("missing ").append(r.backend()).append(' ').append(id)
                        .append(forgotten ? " (forgotten)" : "").append("  id ").append(r.ids().get(id)).append('\n');
            }
            for (var id : r.unknown()) {
                unknown++;
                detail.append("unknown ").append(r.backend()).append(' ').append(id).append('\n');
            }
            r.failures().forEach((id, why) -> detail.append("failed  ").append(r.backend()).append(' ').append(id)
                    .append(": ").append(why).append('\n'));
        }
        if (unresolved > 0) {
            detail.append(MISSING_HINT).append('\n');
        }
        if (unknown > 0) {
            detail.append(UNKNOWN_HINT).append('\n');
        }
        if (findings > 0) {
            detail.append(REMOVE_HINT).append('\n');
        }
        return table + detail.toString();
    }

    /** What an unknown key is, printed under a report that lists some. */
    static final String UNKNOWN_HINT = "unknown: held there, but this runtime neither placed them there nor abandoned them "
            + "(another runtime sharing the backend, or a store whose outcome this runtime never learned): never removed";

    /** How to act on a report's findings. */
    static final String REMOVE_HINT = "to act on findings you reviewed: keystore:reconcile --remove ID... "
            + "(an orphan is deleted, a missing key forgotten, each only if its evidence still holds)";

    /** What a missing key means and how to clear it, printed under a report that lists missing keys. */
    static final String MISSING_HINT = "missing: the keystore recorded these keys in that backend, which no longer holds them "
            + "(a volatile backend such as memory loses its keys when it or the runtime restarts); "
            + "keystore:reconcile --remove with their ids forgets them";
}
