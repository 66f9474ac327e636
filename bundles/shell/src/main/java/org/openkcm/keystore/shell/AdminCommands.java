package org.openkcm.keystore.shell;

import static org.openkcm.keystore.shell.Arguments.ABSENT;
import static org.openkcm.keystore.shell.Arguments.given;

import java.io.PrintStream;
import java.util.Map;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The {@code keystore:} administration commands: the backends and their health, the routing
 * policy, migration of keys to where the policy sends them, and KEK re-wrap. Gogo finds a
 * command's method by its name (ignoring case, or with a get/is/set or '_' prefix) and a Java
 * name cannot hold a '-', so KEK re-wrap is {@code keystore:rewrap}, not {@code kek-rotate}.
 * Output never holds key material or secret-named properties (the api's value types leave them out).
 */
@Component(service = AdminCommands.class)
@GogoCommand(scope = "keystore", function = {"backends", "routes", "migrate", "rewrap"})
public class AdminCommands {
    @Reference
    private KeystoreAdministration admin;

    public AdminCommands() {
    }

    /** For tests and embedding: commands over a given administration service. */
    AdminCommands(KeystoreAdministration admin) {
        this.admin = admin;
    }

    @Descriptor("list the backends: state (ACTIVE, SHADOWED, DOWN, UNAVAILABLE), bundle and health")
    public String backends() {
        Table table = new Table("NAME", "STATE", "RANKING", "SERVICE", "BUNDLE", "VERSION", "TIERS", "REGIONS",
                "FAILURES", "LAST FAILURE");
        for (BackendStatus s : admin.backends()) {
            table.row(s.name(), s.state(), s.ranking(), s.serviceId(), s.bundleSymbolicName(), s.bundleVersion(),
                    s.tiers().isEmpty() ? "any" : String.join(",", s.tiers()),
                    s.regions().isEmpty() ? "any" : String.join(",", s.regions()), s.consecutiveFailures(),
                    s.lastReason().orElse(null));
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

    @Descriptor("move the keys stored elsewhere than where their route now sends them (copy, verify, switch, delete)")
    public String migrate(CommandSession session,
            @Descriptor("owner as kind/id, e.g. tenant/acme") @Parameter(names = "--owner", absentValue = ABSENT) String owner,
            @Descriptor("owner kind: tenant, service or node") @Parameter(names = "--owner-kind", absentValue = ABSENT) String ownerKind,
            @Descriptor("tier: L2, L3 or L4") @Parameter(names = "--type", absentValue = ABSENT) String type,
            @Descriptor("region") @Parameter(names = "--region", absentValue = ABSENT) String region) {
        KeyFilter.Builder filter = Arguments.selection(owner, ownerKind, type, region);
        PrintStream console = session == null ? null : session.getConsole();
        MigrationReport report = admin.migrate(filter.build(), progress -> {
            if (console != null && !progress.finished()) {
                console.println(progress);
            }
        });
        return report + failures(report.failed());
    }

    @Descriptor("re-wrap every key of every backend under the sealing KEK's current version (after a KEK rotation)")
    public String rewrap() {
        RewrapReport report = admin.rewrapAll();
        return report.toString().replaceFirst(" \\{.*", "") + failures(report.failed());
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
