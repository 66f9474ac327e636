package org.openkcm.keystore.grpc;

import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.grpc.v1.AdminServiceGrpc;
import org.openkcm.keystore.grpc.v1.GetCacheStatisticsRequest;
import org.openkcm.keystore.grpc.v1.GetCacheStatisticsResponse;
import org.openkcm.keystore.grpc.v1.ListBackendsRequest;
import org.openkcm.keystore.grpc.v1.ListBackendsResponse;
import org.openkcm.keystore.grpc.v1.ListRoutesRequest;
import org.openkcm.keystore.grpc.v1.ListRoutesResponse;
import org.openkcm.keystore.grpc.v1.MigrateRequest;
import org.openkcm.keystore.grpc.v1.ReconcileRequest;
import org.openkcm.keystore.grpc.v1.ReconcileResponse;
import org.openkcm.keystore.grpc.v1.RewrapReport;
import org.openkcm.keystore.grpc.v1.RewrapRequest;

import io.grpc.stub.StreamObserver;

/**
 * AdminService over {@link KeystoreAdministration}: every call needs the {@code admin} class and
 * is audited (reads too, since they show the deployment's layout).
 */
final class AdminServiceEndpoint extends AdminServiceGrpc.AdminServiceImplBase {
    private final KeystoreAdministration administration;
    private final GrpcAudit audit;

    AdminServiceEndpoint(KeystoreAdministration administration, GrpcAudit audit) {
        this.administration = administration;
        this.audit = audit;
    }

    @Override
    public void listBackends(ListBackendsRequest request, StreamObserver<ListBackendsResponse> response) {
        KeyServiceEndpoint.unary(response, () -> admin("backends", () -> ListBackendsResponse.newBuilder()
                .addAllBackends(administration.backends().stream().map(ProtoConversion::backend).toList()).build()));
    }

    @Override
    public void listRoutes(ListRoutesRequest request, StreamObserver<ListRoutesResponse> response) {
        KeyServiceEndpoint.unary(response, () -> admin("routes", () -> ListRoutesResponse.newBuilder()
                .addAllRoutes(administration.routes().stream().map(ProtoConversion::route).toList()).build()));
    }

    @Override
    public void getCacheStatistics(GetCacheStatisticsRequest request,
            StreamObserver<GetCacheStatisticsResponse> response) {
        KeyServiceEndpoint.unary(response, () -> admin("cache-statistics", () -> GetCacheStatisticsResponse
                .newBuilder().addAllStatistics(administration.cacheStatistics().stream()
                        .map(ProtoConversion::cacheStatistics).toList())
                .build()));
    }

    @Override
    public void rewrap(RewrapRequest request, StreamObserver<RewrapReport> response) {
        KeyServiceEndpoint.unary(response,
                () -> admin("rewrap", () -> ProtoConversion.rewrap(administration.rewrapAll())));
    }

    @Override
    public void reconcile(ReconcileRequest request, StreamObserver<ReconcileResponse> response) {
        boolean remove = request.getRemove() || request.getRemoveIdsCount() > 0;
        KeyServiceEndpoint.unary(response, () -> admin(remove ? "reconcile-remove" : "reconcile",
                () -> ReconcileResponse.newBuilder().addAllReports((request.getRemoveIdsCount() > 0
                        ? administration.reconcile(request.getRemoveIdsList()) : administration.reconcile(request.getRemove()))
                        .stream().map(ProtoConversion::reconciliation).toList()).build()));
    }

    /** Streams an interim report every so many keys, then the final one (finished = true). */
    @Override
    public void migrate(MigrateRequest request, StreamObserver<org.openkcm.keystore.grpc.v1.MigrationReport> response) {
        try {
            Caller caller = Caller.current();
            KeyFilter filter = request.hasFilter() ? ProtoConversion.keyFilter(request.getFilter()) : null;
            MigrationReport done = audit.run(caller, "migrate", null, () -> {
                caller.require(OperationClass.ADMIN);
                return administration.migrate(filter, progress -> response.onNext(ProtoConversion.migration(progress)));
            });
            response.onNext(ProtoConversion.migration(done));
            response.onCompleted();
        } catch (RuntimeException e) {
            response.onError(StatusMapping.toStatus(e));
        }
    }

    private <T> T admin(String operation, java.util.function.Supplier<T> work) {
        Caller caller = Caller.current();
        return audit.run(caller, operation, null, () -> {
            caller.require(OperationClass.ADMIN);
            return work.get();
        });
    }
}
