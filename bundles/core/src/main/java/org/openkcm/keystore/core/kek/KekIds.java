package org.openkcm.keystore.core.kek;

import org.openkcm.keystore.api.KekProvider;
import org.openkcm.keystore.api.Validation;

/** The rule for a KEK id: an identifier of at most {@link KekProvider#MAX_KEK_ID_LENGTH} characters. */
final class KekIds {
    private KekIds() {
    }

    static String check(String kekId) {
        return Validation.identifier("kek.id", kekId, KekProvider.MAX_KEK_ID_LENGTH);
    }
}
