package org.openkcm.keystore.shell;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.openkcm.keystore.api.KeystoreProperties;
import org.osgi.framework.Constants;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Backend configurations whose component failed to activate (a refused configuration, a plugin
 * that would not start): only the component runtime knows why. Such a component either registers
 * no Keystore service, or (an immediate component such as the memory and OpenBao backends) keeps a
 * registration from which no service can be obtained, which the router lists as UNAVAILABLE:
 * {@code keystore:backends} then shows that registration's row as NOT STARTED, with this line. Each is told by its {@code keystore.name} and the one line its activation failed with.
 */
final class NotStartedBackends {
    private static final String CAUSED_BY = "Caused by: ";
    private NotStartedBackends() {
    }

    /** One backend configuration that did not start. */
    record NotStarted(String name, String configuration, String bundle, String bundleVersion, String reason) {
    }

    static List<NotStarted> of(ServiceComponentRuntime runtime) {
        List<NotStarted> out = new ArrayList<>();
        if (runtime == null) {
            return out;
        }
        for (ComponentDescriptionDTO description : runtime.getComponentDescriptionDTOs()) {
            for (ComponentConfigurationDTO dto : runtime.getComponentConfigurationDTOs(description)) {
                Object name = dto.properties.get(KeystoreProperties.NAME);
                if (dto.state == ComponentConfigurationDTO.FAILED_ACTIVATION && name != null) {
                    Object pid = dto.properties.get(Constants.SERVICE_PID);
                    out.add(new NotStarted(String.valueOf(name), pid == null ? description.name : String.valueOf(pid),
                            description.bundle.symbolicName, description.bundle.version, reason(dto.failure)));
                }
            }
        }
        return out;
    }

    /**
     * Removes from {@code notStarted} and returns the entry of the configuration {@code pid}, or null
     * if there is none (or no pid).
     */
    static NotStarted take(List<NotStarted> notStarted, String pid) {
        if (pid == null) {
            return null;
        }
        for (Iterator<NotStarted> it = notStarted.iterator(); it.hasNext();) {
            NotStarted n = it.next();
            if (pid.equals(n.configuration())) {
                it.remove();
                return n;
            }
        }
        return null;
    }

    /**
     * The line that says why, out of the stack trace the component runtime keeps: the message of
     * the outermost exception that has one, past the reflection wrapper of the activation call.
     */
    static String reason(String stackTrace) {
        if (stackTrace == null || stackTrace.isBlank()) {
            return "activation failed";
        }
        List<String> lines = stackTrace.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String thrown = i == 0 ? line : line.startsWith(CAUSED_BY) ? line.substring(CAUSED_BY.length()) : null;
            if (thrown == null) {
                continue;
            }
            int colon = thrown.indexOf(": ");
            if (colon > 0 && !thrown.startsWith("java.lang.reflect.InvocationTargetException")) {
                return thrown.substring(colon + 2).strip();
            }
        }
        return lines.get(0).strip();
    }
}
