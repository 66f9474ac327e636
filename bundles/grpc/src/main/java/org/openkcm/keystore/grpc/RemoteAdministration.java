package org.openkcm.keystore.grpc;

import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.grpc.v1.AdminServiceGrpc;
import org.openkcm.keystore.grpc.v1.GetCacheStatisticsRequest;
import org.openkcm.keystore.grpc.v1.ListBackendsRequest;
import org.openkcm.keystore.grpc.v1.ListRoutesRequest;
import org.openkcm.keystore.grpc.v1.MigrateRequest;
import org.openkcm.keystore.grpc.v1.ReconcileRequest;
import org.openkcm.keystore.grpc.v1.RewrapRequest;

import io.grpc.ManagedChannel;

/**
 * {@link KeystoreAdministration} of a running daemon, over its AdminService (the caller needs the
 * {@code admin} class): each method is one call; a migration's progress reports arrive as the
 * daemon streams them.
 */
final class RemoteAdministration implements KeystoreAdministration {
    private final DaemonChannel daemon;
    private final ListedLocations locations;

    RemoteAdministration(DaemonChannel daemon, ListedLocations locations) {
        this.daemon = daemon;
        this.locations = locations;
    }

    /** A stub for one call, which makes the locations of the last listing stale. */
    private AdminServiceGrpc.AdminServiceBlockingStub admin(ManagedChannel channel) {
        locations.forget();
        return AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(daemon.timeoutMillis(),
                TimeUnit.MILLISECONDS);
    }

    @Override
    public List<BackendStatus> backends() {
        return daemon.call(c -> admin(c).listBackends(ListBackendsRequest.getDefaultInstance()).getBackendsList()
                .stream().map(ClientConversion::backend).toList());
    }

    @Override
    public List<RouteDescription> routes() {
        return daemon.call(c -> admin(c).listRoutes(ListRoutesRequest.getDefaultInstance()).getRoutesList().stream()
                .map(ClientConversion::route).toList());
    }

    @Override
    public Optional<String> locationOf(KeyId id) {
        return locations.take(id);
    }

    @Override
    public MigrationReport migrate(KeyFilter filter, Consumer<MigrationReport> progress) {
        MigrateRequest.Builder request = MigrateRequest.newBuilder();
        if (filter != null) {
            request.setFilter(ClientConversion.keyFilter(filter));
        }
        return daemon.call(c -> {
            Iterator<org.openkcm.keystore.grpc.v1.MigrationReport> reports = admin(c).migrate(request.build());
            while (reports.hasNext()) {
                MigrationReport report = ClientConversion.migration(reports.next());
                if (report.finished()) {
                    return report;
                }
                if (progress != null) {
                    progress.accept(report);
                }
            }
            throw new UnavailableException("the keystore daemon at " + daemon.target()
                    + " ended the migration without its final report");
        });
    }

    @Override
    public RewrapReport rewrapAll() {
        return daemon.call(c -> ClientConversion.rewrap(admin(c).rewrap(RewrapRequest.getDefaultInstance())));
    }

    @Override
    public List<CacheStatistics> cacheStatistics() {
        return daemon.call(c -> admin(c).getCacheStatistics(GetCacheStatisticsRequest.getDefaultInstance())
                .getStatisticsList().stream().map(ClientConversion::cacheStatistics).toList());
    }

    @Override
    public List<ReconciliationReport> reconcile(boolean remove) {
        return daemon.call(c -> admin(c).reconcile(ReconcileRequest.newBuilder().setRemove(remove).build())
                .getReportsList().stream().map(ClientConversion::reconciliation).toList());
    }

    @Override
    public List<ReconciliationReport> reconcile(Collection<String> remove) {
        return daemon.call(c -> admin(c).reconcile(ReconcileRequest.newBuilder().addAllRemoveIds(remove).build())
                .getReportsList().stream().map(ClientConversion::reconciliation).toList());
    }
}
