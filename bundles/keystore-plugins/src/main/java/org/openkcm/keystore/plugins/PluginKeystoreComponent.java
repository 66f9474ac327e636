package org.openkcm.keystore.plugins;

import java.util.Map;

import org.openkcm.keystore.api.Keystore;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One out-of-process plugin backend per factory configuration of {@value #PID}. The plugin is
 * started, handshaken and configured before its {@code Keystore} service is registered: a plugin
 * that cannot start fails activation with one line saying why, and no service appears. A changed
 * configuration (a new executable and checksum, arguments, settings) swaps the new plugin in behind
 * the same service, as a bundle update would, without a failed call.
 */
@Component(name = PluginKeystoreComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = {})
@Designate(ocd = PluginConfig.class, factory = true)
public final class PluginKeystoreComponent {
    /** The factory PID: one configuration per plugin backend. */
    public static final String PID = "org.openkcm.keystore.plugin";

    private final PluginSupervisor supervisor;
    private final ServiceRegistration<Keystore> registration;
    private final PluginLog log;

    /** @throws IllegalArgumentException naming what is wrong; no service is registered then */
    @Activate
    public PluginKeystoreComponent(BundleContext context, PluginConfig config, Map<String, Object> properties,
            @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL) Logger logger) {
        PluginSettings settings = PluginSettings.of(config, properties);
        this.log = osgiLog(logger);
        try {
            this.supervisor = new PluginSupervisor(settings, System.getenv(), log);
        } catch (PluginStartException e) {
            String message = "plugin " + settings.name() + " (" + settings.executable() + ") not started: " + e.getMessage();
            log.error(message);
            throw new IllegalArgumentException(message, e);
        }
        try {
            this.registration = context.registerService(Keystore.class, new PluginKeystore(supervisor, log),
                    settings.serviceProperties());
        } catch (RuntimeException e) {
            supervisor.close();
            throw e;
        }
    }

    /**
     * Swaps the new configuration in: the new plugin is started and serving before the service
     * forwards to it, and the old one stops once its calls are done.
     *
     * @throws IllegalArgumentException if the new configuration or plugin is refused; the running
     *         plugin keeps serving under the old configuration then
     */
    @Modified
    void modified(PluginConfig config, Map<String, Object> properties) {
        PluginSettings next = PluginSettings.of(config, properties);
        try {
            supervisor.replace(next);
        } catch (PluginStartException e) {
            String message = "plugin " + next.name() + " (" + next.executable() + ") not swapped in, the running one"
                    + " keeps serving: " + e.getMessage();
            log.error(message);
            throw new IllegalArgumentException(message, e);
        }
        registration.setProperties(next.serviceProperties());
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The framework unregisters a stopping bundle's services itself.
        }
        supervisor.close();
    }

    private static PluginLog osgiLog(Logger logger) {
        return new PluginLog() {
            @Override
            public void info(String message) {
                if (logger != null) {
                    logger.info(message);
                }
            }

            @Override
            public void warn(String message) {
                if (logger != null) {
                    logger.warn(message);
                }
            }

            @Override
            public void error(String message) {
                if (logger != null) {
                    logger.error(message);
                }
            }
        };
    }
}
