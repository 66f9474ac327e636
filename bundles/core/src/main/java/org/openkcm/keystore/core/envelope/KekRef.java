package org.openkcm.keystore.core.envelope;

/** A KEK id and version, as a sealed record or a lifecycle MAC names them. */
public record KekRef(String kekId, int version) {

    @Override
    public String toString() {
        return kekId + " v" + version;
    }
}
