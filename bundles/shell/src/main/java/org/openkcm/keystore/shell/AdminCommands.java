package org.openkcm.keystore.shell;

import static org.openkcm.keystore.shell.Arguments.ABSENT;
import static org.openkcm.keystore.shell.Arguments.given;

import java.io.PrintStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeyType;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.audit.AuditLog;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * The {@code keystore:} administration commands: the backends and their health, the routing
 * policy, migration of keys to where the policy sends them, and KEK re-wrap. A command is named
 * after its method ({@link CommandServices}) and a Java name cannot hold a '-', so KEK re-wrap is
 * {@code keystore:rewrap}, not {@code kek-rotate}.
 * Output never holds key material or secret-named properties (the api's value types leave them out).
 * Migration and re-wrap are audited ({@link ShellAudit}) and are not run without a working audit log.
 */
@Component(service = {}, immediate = true)
public class AdminCommands {
    @Reference
    private KeystoreAdministration admin;

    private CommandServices shell;
    /** Optional and dynamic: the read-only commands work without it; the audited ones refuse (fail closed). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile AuditLog auditLog;

    /** Optional: without it keystore:backends lists the registered backends only. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ServiceComponentRuntime componentRuntime;

    private final ShellAudit audit = new ShellAudit(() -> auditLog, Clock.systemUTC());

    public AdminCommands() {
    }

    /** For tests and embedding: commands over a given administration service and audit log. */
    AdminCommands(KeystoreAdministration admin, AuditLog auditLog) {
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

    @Descriptor("list the backends: state (ACTIVE, SHADOWED, DOWN, UNAVAILABLE; NOT STARTED for a configuration whose"
            + " backend failed to start, with why), bundle and health; one row per backend configuration")
    public String backends() {
        Table table = new Table("NAME", "STATE", "RANKING", "SERVICE", "BUNDLE", "VERSION", "TIERS", "REGIONS",
                "FAILURES", "LAST FAILURE");
        List<NotStartedBackends.NotStarted> notStarted = new ArrayList<>(NotStartedBackends.of(componentRuntime));
        for (BackendStatus s : admin.backends()) {
            // the registration an immediate component keeps after its activation failed: one row, saying why
            NotStartedBackends.NotStarted failed = s.state() == BackendStatus.State.UNAVAILABLE
                    ? NotStartedBackends.take(notStarted, s.properties().get(Constants.SERVICE_PID)) : null;
            table.row(s.name(), failed == null ? s.state() : "NOT STARTED", s.ranking(), s.serviceId(),
                    s.bundleSymbolicName(), s.bundleVersion(), s.tiers().isEmpty() ? "any" : String.join(",", s.tiers()),
                    s.regions().isEmpty() ? "any" : String.join(",", s.regions()), s.consecutiveFailures(),
                    failed == null ? s.lastReason().orElse(null) : failed.configuration() + ": " + failed.reason());
        }
        for (NotStartedBackends.NotStarted n : notStarted) {
            table.row(n.name(), "NOT STARTED", null, null, n.bundle(), n.bundleVersion(), null, null, null,
                    n.configuration() + ": " + n.reason());
        }
        return table + count(table.size(), "backend");
    }

    @Descriptor("list the routing policy: the routes in force, most specific first, refused ones, and the default")
    public String routes() {
        Table table = new Table("ROUTE", "TIERS", "OWNER KIND", "OWNER ID", "OWNER PREFIX", "REGION", "PRIORITY",
                "SPECIFICITY", "TARGET", "STATE");
        for (RouteDescription r : admin.routes()) {
            table.row(r.name(), r.tiers().isEmpty() ? "any" : String.join(",", r.tiers()), r.ownerKind().orElse(null),
                    r.ownerId().orElse(null), r.ownerIdPrefix().orElse(null), r.region().orElse(null), r.priority(),
                    r.specificity(), r.target(), r.inForce() ? "in force" : "refused: " + r.error().orElse("?"));
        }
        return table + count(table.size(), "route");
    }

    @Descriptor("one line per backend (state, probe latency or reason) and per tier route (servable or why not); fails unless every tier can be served")
    public String health(CommandSession session) {
        return health(session == null ? null : session.getConsole());
    }

    /**
     * Prints the lines on the console and returns the verdict; if a tier cannot be served, throws
     * an {@link UnavailableException} naming the tiers (the command fails: exit status 1).
     */
    String health(PrintStream console) {
        List<BackendStatus> backends = admin.backends();
        Table lines = new Table("WHAT", "NAME", "STATE", "DETAIL");
        for (BackendStatus b : backends) {
            String detail = b.lastLatency().map(l -> "probe " + l.toMillis() + " ms").orElse("not probed yet");
            if (b.state() != BackendStatus.State.ACTIVE || b.consecutiveFailures() > 0) {
                detail += b.consecutiveFailures() > 0 ? ", " + b.consecutiveFailures() + " failed in a row" : "";
                detail += b.lastReason().map(r -> ": " + r).orElse("");
            }
            lines.row("backend", b.name(), b.state(), detail);
        }
        Set<KeyType> unserved = EnumSet.noneOf(KeyType.class);
        List<RouteDescription> routes = admin.routes();
        for (KeyType tier : KeyType.values()) {
            for (TierRoute route : TierRoute.of(tier, routes)) {
                String problem = route.route() == null ? "keys no route matches are refused: no default target"
                        : problem(tier, route.route().target(), backends);
                if (problem != null) {
                    unserved.add(tier);
                }
                lines.row("tier " + tier, route.label(), problem == null ? "servable" : "NOT servable",
                        problem == null ? "" : problem);
            }
        }
        String verdict = unserved.isEmpty() ? "every tier (L2, L3, L4) can be served"
                : "tier" + (unserved.size() == 1 ? " " : "s ") + join(unserved) + " cannot be served";
        String table = lines.toString().stripTrailing();
        if (unserved.isEmpty()) {
            return console == null ? table + "\nhealth: " + verdict : print(console, table, "health: " + verdict);
        }
        if (console != null) {
            console.println(table);
            console.flush();
        }
        throw new UnavailableException(verdict + (console == null ? "\n" + table : ""));
    }

    private static String print(PrintStream console, String table, String verdict) {
        console.println(table);
        console.flush();
        return verdict;
    }

    /** Why keys of the tier cannot be stored at the target now, or null if they can. */
    private static String problem(KeyType tier, String target, List<BackendStatus> backends) {
        BackendStatus serving = null;
        for (BackendStatus b : backends) {
            if (b.name().equals(target) && b.state() != BackendStatus.State.SHADOWED) {
                serving = b;
            }
        }
        if (serving == null) {
            return "no backend named " + target + " is registered";
        }
        if (serving.state() == BackendStatus.State.DOWN) {
            return "backend " + target + " is DOWN" + serving.lastReason().map(r -> ": " + r).orElse("");
        }
        if (serving.state() == BackendStatus.State.UNAVAILABLE) {
            return "backend " + target + " is not ready (UNAVAILABLE)";
        }
        if (!serving.tiers().isEmpty() && !serving.tiers().contains(tier.name())) {
            return "backend " + target + " accepts only " + String.join(",", serving.tiers());
        }
        return null;
    }

    /**
     * A route keys of a tier can take: the routes in force that match the tier, most specific
     * first, up to the first that matches every key of the tier (no owner or region criterion);
     * if none does, the default route takes the rest (null route: there is no default target).
     */
    record TierRoute(String label, RouteDescription route) {
        static List<TierRoute> of(KeyType tier, List<RouteDescription> routes) {
            List<TierRoute> out = new ArrayList<>();
            RouteDescription fallback = null;
            for (RouteDescription r : routes) {
                if (!r.inForce()) {
                    continue;
                }
                if (r.name().equals("(default)")) {
                    fallback = r;
                    continue;
                }
                if (!r.tiers().isEmpty() && !r.tiers().contains(tier.name())) {
                    continue;
                }
                out.add(new TierRoute("route " + r.name() + " -> " + r.target(), r));
                if (r.ownerKind().isEmpty() && r.ownerId().isEmpty() && r.ownerIdPrefix().isEmpty() && r.region().isEmpty()) {
                    return out; // every other key of the tier is caught here
                }
            }
            out.add(fallback == null ? new TierRoute("(no default target)", null)
                    : new TierRoute("(default) -> " + fallback.target(), fallback));
            return out;
        }
    }

    private static String join(Set<KeyType> tiers) {
        StringBuilder out = new StringBuilder();
        for (KeyType t : tiers) {
            out.append(out.length() == 0 ? "" : ", ").append(t);
        }
        return out.toString();
    }

    @Descriptor("move the keys stored elsewhere than where their route now sends them (copy, verify, switch, delete)")
    public String migrate(CommandSession session,
            @Descriptor("KIND/ID - owner, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = ABSENT) String owner,
            @Descriptor("KIND - owner kind: tenant, service or node") @Parameter(names = "--owner-kind", absentValue = ABSENT) String ownerKind,
            @Descriptor("L2|L3|L4 - tier") @Parameter(names = "--type", absentValue = ABSENT) String type,
            @Descriptor("REGION - region") @Parameter(names = "--region", absentValue = ABSENT) String region) {
        return audit.run(session, "migrate", null, () -> {
            KeyFilter.Builder filter = Arguments.selection(owner, ownerKind, type, region);
            PrintStream console = session == null ? null : session.getConsole();
            MigrationReport report = admin.migrate(filter.build(), progress -> {
                if (console != null && !progress.finished()) {
                    console.println(progress);
                }
            });
            return report + failures(report.failed());
        });
    }

    @Descriptor("re-wrap every key of every backend under the sealing KEK's current version (after a KEK rotation)")
    public String rewrap(CommandSession session) {
        return audit.run(session, "rewrap", null, () -> {
            RewrapReport report = admin.rewrapAll();
            return report.toString().replaceFirst(" \\{.*", "") + failures(report.failed());
        });
    }

    private static String failures(Map<KeyId, String> failed) {
        if (failed.isEmpty()) {
            return "";
        }
        Table table = new Table("KEY", "REASON");
        failed.forEach(table::row);
        return "\n" + table.toString().stripTrailing();
    }

    private static String count(int n, String what) {
        return n + " " + what + (n == 1 ? "" : "s");
    }
}
