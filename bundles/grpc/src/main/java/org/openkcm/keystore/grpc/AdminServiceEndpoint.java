package org.openkcm.keystore.grpc;

import java.util.ArrayList;
import java.util.List;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.grpc.v1.AdminServiceGrpc;
import org.openkcm.keystore.grpc.v1.GetCacheStatisticsRequest;
import org.openkcm.keystore.grpc.v1.GetCacheStatisticsResponse;
import org.openkcm.keystore.grpc.v1.ListBackendsRequest;
import org.openkcm.keystore.grpc.v1.ListBackendsResponse;
import org.openkcm.keystore.grpc.v1.ListRoutesRequest;
import org.openkcm.keystore.grpc.v1.ListRoutesResponse;
import org.openkcm.keystore.grpc.v1.KeyLocation;
import org.openkcm.keystore.grpc.v1.LocateRequest;
import org.openkcm.keystore.grpc.v1.LocateResponse;
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

    /** At most this many key versions per Locate call. */
    static final int MAX_LOCATE = 1000;

    /**
     * Where each key version is held, as the keystore recorded it: a read of the deployment's
     * layout, like the backends, so it needs the {@code admin} class and is audited (one record
     * per call, naming the key when the call names one).
     */
    @Override
    public void locate(LocateRequest request, StreamObserver<LocateResponse> response) {
        KeyServiceEndpoint.unary(response, () -> {
            Caller caller = Caller.current();
            if (request.getIdsCount() == 0) {
                throw new InvalidInputException("ids", "is required (1 to " + MAX_LOCATE + " key versions)");
            }
            if (request.getIdsCount() > MAX_LOCATE) {
                throw new InvalidInputException("ids", "at most " + MAX_LOCATE + " key versions per call");
            }
            List<KeyId> ids = new ArrayList<>(request.getIdsCount());
            for (int i = 0; i < request.getIdsCount(); i++) {
                ids.add(ProtoConversion.keyId("ids[" + i + "]", request.getIds(i), true));
            }
            return audit.run(caller, "locate", ids.size() == 1 ? ids.get(0).toString() : null, () -> {
                caller.require(OperationClass.ADMIN);
                LocateResponse.Builder located = LocateResponse.newBuilder();
                for (KeyId id : ids) {
                    KeyLocation.Builder location = KeyLocation.newBuilder().setId(ProtoConversion.keyId(id));
                    administration.locationOf(id).ifPresent(location::setBackend);
                    located.addLocations(location);
                }
                return located.build();
            });
        });
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
