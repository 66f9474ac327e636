package org.openkcm.keystore.kek.common;

import java.util.Optional;

/**
 * A root key held outside this process (an OpenBao Transit key, a key in a PKCS#11 token, an AWS
 * KMS key) that seals and unseals the versions of a local KEK ring at rest. Its key bytes never
 * enter this process: only the 32-byte KEK versions go in and out.
 * <p>
 * The {@code context} names the ring and the version a sealed KEK belongs to; an implementation
 * binds it to the ciphertext (authenticated data, an encryption context, or inside the plaintext)
 * so that a sealed KEK moved to another ring or version does not unseal.
 * <p>
 * Failures: the root cannot be reached, is sealed, or refuses the caller:
 * {@link org.openkcm.keystore.api.UnavailableException}; the root answers that the ciphertext is
 * not its own or was altered: {@link org.openkcm.keystore.api.IntegrityException}; a configuration
 * that cannot work (an absent key, a bad address):
 * {@link org.openkcm.keystore.api.InvalidInputException}. Messages never include key bytes.
 */
public interface RootKey {

    /** What the root is, for messages and the ring file's header, e.g. "OpenBao Transit key transit/keys/kek at https://bao:8200". */
    String describe();

    /** Seals a KEK version; the caller still owns (and wipes) {@code kek}. */
    byte[] seal(byte[] kek, String context);

    /** Unseals what {@link #seal} or {@link #generate} returned for the same context; the caller wipes the result. */
    byte[] unseal(byte[] sealed, String context);

    /**
     * A fresh 32-byte KEK version and its sealed form. By default made here and sealed; a root
     * that generates data keys itself (KMS GenerateDataKey) overrides this.
     */
    default GeneratedKek generate(String context) {
        byte[] kek = new byte[LocalKekRing.KEK_BYTES];
        Randomness.INSTANCE.nextBytes(kek);
        return new GeneratedKek(kek, seal(kek, context));
    }

    /**
     * The sealed KEK under the root's current version, if {@code sealed} is under an older one (the
     * root was rotated, e.g. Transit's rewrap); empty if it is current or the root has no versions.
     */
    default Optional<byte[]> refresh(byte[] sealed, String context) {
        return Optional.empty();
    }

    /** A KEK version made by {@link #generate}: its bytes (the caller wipes them) and its sealed form. */
    final class GeneratedKek {
        public final byte[] kek;
        public final byte[] sealed;

        public GeneratedKek(byte[] kek, byte[] sealed) {
            this.kek = kek;
            this.sealed = sealed;
        }

        @Override
        public String toString() {
            return "GeneratedKek[" + sealed.length + " sealed bytes]";
        }
    }
}
