package org.openkcm.keystore.metrics.prometheus;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "OpenKCM Keystore metrics",
        description = "The Prometheus text endpoint (GET /metrics) of the keystore.")
public @interface MetricsConfig {

    @AttributeDefinition(name = "Address", description = "The address the endpoint listens on; loopback by default, "
            + "so only this machine (a local Prometheus agent, a reverse proxy) can scrape it.")
    String host() default "127.0.0.1";

    @AttributeDefinition(name = "Port", description = "The TCP port of the endpoint; 0 takes a free one (it is logged).")
    int port() default PrometheusMetrics.DEFAULT_PORT;
}
