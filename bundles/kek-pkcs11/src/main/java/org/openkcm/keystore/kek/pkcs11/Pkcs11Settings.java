package org.openkcm.keystore.kek.pkcs11;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.kek.common.RingFiles;
import org.openkcm.keystore.kek.common.RootSealedKekProvider.RingSettings;
import org.openkcm.keystore.kek.common.SecretReference;
import org.openkcm.keystore.secrets.SecretPolicy;

/** The checked configuration of a {@link Pkcs11KekProvider}; every refusal names the attribute. */
final class Pkcs11Settings {
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    final Path library;
    final long slot;
    final int slotListIndex;
    final SecretReference pin;
    final String keyLabel;
    final boolean createKey;
    final RingSettings ring;

    private Pkcs11Settings(Pkcs11KekProvider.Config c, UnaryOperator<String> systemProperties) {
        String lib = c.library() == null ? "" : c.library().strip();
        if (lib.isEmpty() || !Path.of(lib).isAbsolute() || !Files.isRegularFile(Path.of(lib))) {
            throw new InvalidInputException("library", "must be the absolute path of the token's PKCS#11 module (a .so"
                    + " file, e.g. /usr/lib/softhsm/libsofthsm2.so); " + (lib.isEmpty() ? "it is empty" : lib + " is not a file"));
        }
        this.library = Path.of(lib);
        if (c.slot() < -1 || c.slot_list_index() < -1 || (c.slot() >= 0 && c.slot_list_index() >= 0)) {
            throw new InvalidInputException("slot", "set at most one of slot (the token's slot id) and slot.list.index");
        }
        this.slot = c.slot();
        this.slotListIndex = c.slot() < 0 && c.slot_list_index() < 0 ? 0 : c.slot_list_index();
        this.pin = SecretReference.parse("pin.source", c.pin_source(), SecretPolicy.from(systemProperties));
        String label = c.key_label() == null ? "" : c.key_label().strip();
        if (!LABEL.matcher(label).matches()) {
            throw new InvalidInputException("key.label", "must be 1-64 letters, digits, '.', '_' or '-'");
        }
        this.keyLabel = label;
        this.createKey = c.create_key();
        this.ring = new RingSettings(c.kek_id(), RingFiles.resolve(c.ring_file(), c.kek_id(), systemProperties),
                c.create(), c.kek_versions(), LocalKekRing.Wrap.parse(c.wrap()));
    }

    static Pkcs11Settings from(Pkcs11KekProvider.Config config, UnaryOperator<String> systemProperties) {
        return new Pkcs11Settings(config, systemProperties);
    }

    /** The SunPKCS11 configuration, inline ("--" form): the module and the slot, nothing secret. */
    String providerConfig(String kekId) {
        StringBuilder c = new StringBuilder("--name = openkcm-").append(kekId).append('\n')
                .append("library = ").append(library).append('\n');
        if (slot >= 0) {
            c.append("slot = ").append(slot).append('\n');
        } else {
            c.append("slotListIndex = ").append(slotListIndex).append('\n');
        }
        // A key this provider creates stays in the token, sensitive and not extractable.
        c.append("attributes(*, CKO_SECRET_KEY, CKK_AES) = {\n  CKA_SENSITIVE = true\n  CKA_EXTRACTABLE = false\n}\n");
        return c.toString();
    }

    String where() {
        return (slot >= 0 ? "slot " + slot : "slot list index " + slotListIndex) + " of " + library;
    }
}
