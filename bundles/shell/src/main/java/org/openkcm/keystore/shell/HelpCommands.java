package org.openkcm.keystore.shell;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Hashtable;
import java.util.TreeSet;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.util.tracker.ServiceTracker;

/**
 * {@code help} for the Felix Gogo shell, standing in for Gogo's own ({@code felix:help}, from the
 * gogo.command bundle) wherever that one is registered, so that:
 * <ul>
 * <li>{@code help} lists every {@code keystore:} command: Gogo's lists a command only if the service
 * object has a method of exactly that name, which the {@link CheckedCommand} services do not have
 * (and {@code keystore:import} is the method {@code _import}, as Java has no method named
 * {@code import});</li>
 * <li>{@code help keystore:NAME} shows the usage line and marks required options as required:
 * Gogo's prints every option as {@code [optional]}.</li>
 * </ul>
 * Every other {@code help NAME} is answered by Gogo's help. Like the other commands it is called
 * through a {@link CheckedCommand}, so {@code help a b} is its usage line. The service is
 * registered only while Gogo's help is (not in Karaf, whose shell has a help of its own), with a
 * {@code service.ranking} above it, which is how Gogo picks among commands of the same name in
 * different scopes.
 */
@Component(service = {}, immediate = true)
public class HelpCommands {
    /** Gogo's help command service: the gogo.command bundle's {@code Basic}. */
    static final String GOGO_HELP = "(&(osgi.command.scope=felix)(osgi.command.function=help))";

    private ServiceTracker<Object, ServiceRegistration<?>> tracker;
    private final Object gogoHelp;

    public HelpCommands() {
        this(null);
    }

    /** For tests: over a given stand-in of Gogo's help (an object with {@code help()} and {@code help(String)}), or none. */
    HelpCommands(Object gogoHelp) {
        this.gogoHelp = gogoHelp;
    }

    @Activate
    void activate(BundleContext context) throws InvalidSyntaxException {
        Filter filter = context.createFilter(GOGO_HELP);
        tracker = new ServiceTracker<>(context, filter, null) {
            @Override
            public ServiceRegistration<?> addingService(ServiceReference<Object> reference) {
                Object gogo = context.getService(reference);
                if (gogo == null) {
                    return null;
                }
                Hashtable<String, Object> properties = new Hashtable<>();
                properties.put("osgi.command.scope", Usage.SCOPE);
                properties.put("osgi.command.function", new String[] {"help"});
                properties.put(Constants.SERVICE_RANKING, ranking(reference) + 1);
                CheckedCommand help = new CheckedCommand(new HelpCommands(gogo), Usage.command("help"));
                properties.put("osgi.command.description", help.description());
                return context.registerService(Function.class.getName(), help, properties);
            }

            @Override
            public void removedService(ServiceReference<Object> reference, ServiceRegistration<?> registration) {
                try {
                    registration.unregister();
                } catch (IllegalStateException alreadyGone) {
                    // the bundle is stopping
                }
                context.ungetService(reference);
            }
        };
        tracker.open();
    }

    @Deactivate
    void deactivate() {
        if (tracker != null) {
            tracker.close();
        }
    }

    @Descriptor("list the commands (Gogo's, and every keystore: command), or show the usage of one; for keystore: commands, which options are required")
    public String help(@Descriptor("[COMMAND] - the command, e.g. keystore:generate or generate; without it, the list") String name)
            throws Exception {
        return name == null ? list() : helpOf(name);
    }

    /** Gogo's commands and every keystore: command, one name a line, sorted. */
    private String list() throws Exception {
        TreeSet<String> names = new TreeSet<>();
        Object listed = gogoHelp == null ? null : call("help", new Class<?>[0]);
        if (listed != null) {
            listed.toString().lines().map(String::strip).filter(l -> !l.isEmpty()).forEach(names::add);
        }
        Usage.commands().keySet().forEach(name -> names.add(Usage.SCOPE + ":" + name));
        return String.join("\n", names);
    }

    private String helpOf(String name) throws Exception {
        Method command = Usage.command(name);
        boolean otherScope = name.indexOf(':') >= 0 && !name.startsWith(Usage.SCOPE + ":");
        if (command != null && !otherScope) {
            return Usage.help(command);
        }
        if (gogoHelp == null) {
            throw new IllegalArgumentException("no command " + name);
        }
        Object text = call("help", new Class<?>[] {String.class}, name);
        return text == null ? null : text.toString();
    }

    private Object call(String method, Class<?>[] types, Object... args) throws Exception {
        try {
            return gogoHelp.getClass().getMethod(method, types).invoke(gogoHelp, args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    private static int ranking(ServiceReference<?> reference) {
        return reference.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0;
    }
}
