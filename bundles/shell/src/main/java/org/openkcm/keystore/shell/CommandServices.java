package org.openkcm.keystore.shell;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.apache.felix.service.command.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The {@code keystore:} commands of one object, registered with the shells while it is active:
 * one {@link CheckedCommand} service per command, with the properties both Gogo and Karaf look
 * for ({@code osgi.command.scope}, {@code osgi.command.function}, and
 * {@code osgi.command.description}, what Karaf's {@code help} shows of a command it cannot read
 * the annotations of).
 */
final class CommandServices implements AutoCloseable {

    private final List<ServiceRegistration<?>> registrations;

    private CommandServices(List<ServiceRegistration<?>> registrations) {
        this.registrations = registrations;
    }

    /** Registers every command declared by the object's class (see {@link Usage#commands}). */
    static CommandServices register(BundleContext context, Object commands) {
        List<ServiceRegistration<?>> registrations = new ArrayList<>();
        for (CheckedCommand command : of(commands)) {
            Hashtable<String, Object> properties = new Hashtable<>();
            properties.put("osgi.command.scope", Usage.SCOPE);
            properties.put("osgi.command.function", new String[] {command.name()});
            properties.put("osgi.command.description", command.description());
            registrations.add(context.registerService(Function.class.getName(), command, properties));
        }
        return new CommandServices(registrations);
    }

    /** The commands declared by the object's class, one per command name. */
    static List<CheckedCommand> of(Object commands) {
        List<CheckedCommand> out = new ArrayList<>();
        for (Map.Entry<String, Method> entry : Usage.commands().entrySet()) {
            if (entry.getValue().getDeclaringClass() == commands.getClass()) {
                out.add(new CheckedCommand(commands, entry.getValue()));
            }
        }
        return out;
    }

    @Override
    public void close() {
        for (ServiceRegistration<?> registration : registrations) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
        }
        registrations.clear();
    }
}
