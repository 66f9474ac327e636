package org.openkcm.keystore.core.admin;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import org.openkcm.keystore.api.BackendStatus;
import org.openkcm.keystore.api.CacheStatistics;
import org.openkcm.keystore.api.KeyFilter;
import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.api.KeystoreAdministration;
import org.openkcm.keystore.api.KeystoreOperations;
import org.openkcm.keystore.api.MigrationReport;
import org.openkcm.keystore.api.ReconciliationReport;
import org.openkcm.keystore.api.RewrapReport;
import org.openkcm.keystore.api.RouteDescription;
import org.openkcm.keystore.core.operations.OperationsComponent;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The {@link KeystoreAdministration} service: an {@link Administration} over the core's own
 * operations component (the reference names it, so a remote {@code KeystoreOperations} of the gRPC
 * client is never taken), sharing its saga runner, cache and envelope. It comes and goes with that
 * component. Its one setting, {@code reconcile.grace.seconds}, stays in the operations'
 * configuration ({@value OperationsComponent#PID}).
 */
@Component(name = AdministrationComponent.NAME, service = KeystoreAdministration.class)
public final class AdministrationComponent implements KeystoreAdministration {
    public static final String NAME = "org.openkcm.keystore.administration";

    @Reference(target = "(component.name=" + OperationsComponent.PID + ")")
    private KeystoreOperations operations;

    private Administration administration;

    @Activate
    void activate() {
        if (!(operations instanceof OperationsComponent core)) {
            throw new IllegalStateException("the operations service of component " + OperationsComponent.PID
                    + " is not the core's own: " + operations.getClass().getName());
        }
        administration = Administration.of(core.operations());
    }

    @Override
    public List<BackendStatus> backends() {
        return administration.backends();
    }

    @Override
    public List<RouteDescription> routes() {
        return administration.routes();
    }

    @Override
    public Optional<String> locationOf(KeyId id) {
        return administration.locationOf(id);
    }

    @Override
    public MigrationReport migrate(KeyFilter filter, Consumer<MigrationReport> progress) {
        return administration.migrate(filter, progress);
    }

    @Override
    public RewrapReport rewrapAll() {
        return administration.rewrapAll();
    }

    @Override
    public List<CacheStatistics> cacheStatistics() {
        return administration.cacheStatistics();
    }

    @Override
    public List<ReconciliationReport> reconcile(boolean remove) {
        return administration.reconcile(remove);
    }

    @Override
    public List<ReconciliationReport> reconcile(Collection<String> remove) {
        return administration.reconcile(remove);
    }
}
