package org.openkcm.keystore.config;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** The naming rules shared by config.yaml and the environment, and the secret-name rule. */
final class Names {

    /** This bundle's own PID; its configuration never comes from config.yaml. */
    static final String OWN_PID = "org.openkcm.keystore.config";

    /** Marks a configuration this bundle wrote: {@code yaml} or {@code env}. Private (leading dot): never a service property. */
    static final String SOURCE = ".openkcm.config.source";
    /** On a configuration this bundle took over from a .cfg file: the file (FileInstall's URI), to hand back. */
    static final String SHADOWS = ".openkcm.config.shadows";
    /** The property FileInstall writes into every configuration it made from a .cfg file. */
    static final String FILEINSTALL_FILENAME = "felix.fileinstall.filename";

    static final String SERVICE_PID = "service.pid";
    static final String FACTORY_PID = "service.factoryPid";
    static final String BUNDLE_LOCATION = "service.bundleLocation";

    private static final Pattern PID = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");
    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");
    private static final Pattern PROPERTY = Pattern.compile("\\.?[A-Za-z0-9_][A-Za-z0-9_.-]*");
    private static final int MAX_LENGTH = 200;

    /** Interpolation plugin references that can stand for a secret: the environment or a secrets file. */
    private static final Pattern SECRET_REFERENCE = Pattern.compile("\\$\\[(env|secret):[^\\]\\s]+\\]");

    private static final Set<String> SECRET_LAST_WORDS = Set.of(
            "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "SECRETID", "CREDENTIAL", "CREDENTIALS", "APIKEY");
    private static final Set<String> SECRET_LAST_TWO_WORDS = Set.of(
            "SECRET_ID", "PRIVATE_KEY", "API_KEY", "SECRET_KEY", "ACCESS_KEY");

    private Names() {
    }

    static final String PID_RULE = "a PID is letters, digits, '_' and '-' in parts separated by '.'";
    static final String INSTANCE_RULE = "an instance name is letters, digits, '_', '.' and '-', starting with a letter or digit";
    static final String PROPERTY_RULE = "a property name is letters, digits, '_', '.' and '-', starting with a letter, a digit, '_' "
            + "or one '.' (a private property)";
    static final String SECRET_RULE = "a secret-named property (token, password, secret_id, ...) must be a reference "
            + "$[env:NAME] or $[secret:NAME], never a literal value: secrets are not written in configuration";

    static boolean isPid(String s) {
        return s.length() <= MAX_LENGTH && PID.matcher(s).matches();
    }

    static boolean isInstanceName(String s) {
        return s.length() <= MAX_LENGTH && INSTANCE.matcher(s).matches();
    }

    static boolean isPropertyName(String s) {
        return s.length() <= MAX_LENGTH && PROPERTY.matcher(s).matches();
    }

    /** Names that ConfigAdmin, FileInstall or this bundle set themselves; a source may not. */
    static boolean isReserved(String property) {
        String p = property.toLowerCase(Locale.ROOT);
        return p.equals(SERVICE_PID.toLowerCase(Locale.ROOT))
                || p.equals(FACTORY_PID.toLowerCase(Locale.ROOT))
                || p.equals(BUNDLE_LOCATION.toLowerCase(Locale.ROOT))
                || p.equals(FILEINSTALL_FILENAME)
                || p.startsWith(".openkcm.config.");
    }

    /**
     * The canonical form by which an environment variable's segment names a PID, an instance or a
     * property: a word break before each upper-case letter that follows a lower-case letter or a
     * digit, then upper case, then every character that is not a letter or a digit becomes '_'.
     * {@code ownerIdPrefix} → {@code OWNER_ID_PREFIX}, {@code keystore.tiers} →
     * {@code KEYSTORE_TIERS}, {@code l2-l3-to-openbao} → {@code L2_L3_TO_OPENBAO}.
     */
    static String canonical(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (i > 0 && Character.isUpperCase(c)) {
                char prev = s.charAt(i - 1);
                if (Character.isLowerCase(prev) || Character.isDigit(prev)) {
                    b.append('_');
                }
            }
            if (c < 128 && Character.isLetterOrDigit(c)) {
                b.append(Character.toUpperCase(c));
            } else {
                b.append('_');
            }
        }
        return b.toString();
    }

    /**
     * Whether a property of this name holds a secret: the last word of its canonical form is one
     * of TOKEN, PASSWORD, PASSWD, PASSPHRASE, SECRET, SECRETID, CREDENTIAL(S), APIKEY, or its last
     * two words are SECRET_ID, PRIVATE_KEY, API_KEY, SECRET_KEY or ACCESS_KEY. So {@code token},
     * {@code approle.secret_id} and {@code roleSecretId} are secret names; {@code token.ttl} and
     * {@code tokenFile} are not.
     */
    static boolean isSecretName(String property) {
        String[] words = canonical(property).split("_+");
        if (words.length == 0) {
            return false;
        }
        String last = words[words.length - 1];
        if (SECRET_LAST_WORDS.contains(last)) {
            return true;
        }
        return words.length >= 2 && SECRET_LAST_TWO_WORDS.contains(words[words.length - 2] + "_" + last);
    }

    /** Whether a secret-named property's value is acceptable: a reference, or a list of references. */
    static boolean isSecretReference(Object value) {
        if (value instanceof String s) {
            return SECRET_REFERENCE.matcher(s).matches();
        }
        if (value instanceof String[] array && array.length > 0) {
            for (String s : array) {
                if (!SECRET_REFERENCE.matcher(s).matches()) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }
}
