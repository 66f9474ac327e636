package org.openkcm.keystore.kek.pkcs11;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.AuthProvider;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.ProviderException;
import java.security.SecureRandom;
import java.security.Security;
import java.util.Arrays;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.security.auth.login.LoginException;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.kek.common.RootKey;
import org.openkcm.keystore.kek.common.RootSealedKekProvider;

/**
 * An AES-256 key in a PKCS#11 token as the root of the ring, through the JDK's SunPKCS11
 * provider: a KEK version is sealed with CKM_AES_GCM inside the token ({@code AES/GCM/NoPadding},
 * a random 96-bit IV, the context as additional authenticated data); sealed = IV || ciphertext || tag.
 * The token key is found by its label and, if asked, created there as a sensitive,
 * non-extractable token object. {@link #close()} logs the session out.
 */
final class Pkcs11RootKey implements RootKey, AutoCloseable {
    private static final int IV_BYTES = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Pkcs11Settings settings;
    private final Provider provider;
    private final SecretKey key;

    Pkcs11RootKey(Pkcs11Settings settings, String kekId, char[] pin) {
        this.settings = settings;
        Provider base = Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new UnavailableException("this JDK has no SunPKCS11 provider (module jdk.crypto.cryptoki)");
        }
        try {
            this.provider = base.configure(settings.providerConfig(kekId));
        } catch (ProviderException | IllegalArgumentException | UnsupportedOperationException e) {
            throw new UnavailableException("the PKCS#11 token in " + settings.where() + " cannot be opened: "
                    + rootCause(e), null, e);
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS11", provider);
            store.load(null, pin);
            this.key = findOrCreate(store);
        } catch (IOException e) {
            logout();
            throw new UnavailableException("login to the PKCS#11 token in " + settings.where() + " failed (wrong PIN,"
                    + " or the token is not initialised?): " + rootCause(e), null, e);
        } catch (GeneralSecurityException | ProviderException e) {
            logout();
            throw new UnavailableException("the PKCS#11 token in " + settings.where() + " failed: " + rootCause(e), null, e);
        } catch (RuntimeException e) {
            logout();
            throw e;
        }
    }

    private SecretKey findOrCreate(KeyStore store) throws GeneralSecurityException {
        Key found = store.getKey(settings.keyLabel, null);
        if (found instanceof SecretKey && "AES".equals(found.getAlgorithm())) {
            return (SecretKey) found;
        }
        if (found != null) {
            throw new InvalidInputException("key.label", "the object labelled " + settings.keyLabel + " in the token"
                    + " in " + settings.where() + " is not an AES secret key");
        }
        if (!settings.createKey) {
            throw new InvalidInputException("key.label", "the token in " + settings.where() + " has no AES key labelled "
                    + settings.keyLabel + ": create it in the token, or set create.key=true to let this provider do so");
        }
        KeyGenerator generator = KeyGenerator.getInstance("AES", provider);
        generator.init(256);
        SecretKey session = generator.generateKey();
        store.setEntry(settings.keyLabel, new KeyStore.SecretKeyEntry(session), null);
        return (SecretKey) store.getKey(settings.keyLabel, null);
    }

    /** The root key as the token holds it (for tests: it shows the key is not extractable). */
    SecretKey tokenKey() {
        return key;
    }

    @Override
    public String describe() {
        return "PKCS#11 key " + settings.keyLabel + " in " + settings.where();
    }

    @Override
    public byte[] seal(byte[] kek, String context) {
        byte[] iv = new byte[IV_BYTES];
        RANDOM.nextBytes(iv);
        try {
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding", provider);
            gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
            gcm.updateAAD(RootSealedKekProvider.contextBytes(context));
            byte[] ciphertext = gcm.doFinal(kek);
            return ByteBuffer.allocate(IV_BYTES + ciphertext.length).put(iv).put(ciphertext).array();
        } catch (GeneralSecurityException | ProviderException e) {
            throw new UnavailableException("AES-GCM in the PKCS#11 token (" + describe() + ") failed: " + rootCause(e), null, e);
        }
    }

    @Override
    public byte[] unseal(byte[] sealed, String context) {
        if (sealed.length < IV_BYTES + 16) {
            throw new IntegrityException(null, "a sealed KEK version is too short for AES-GCM");
        }
        try {
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding", provider);
            gcm.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, sealed, 0, IV_BYTES));
            gcm.updateAAD(RootSealedKekProvider.contextBytes(context));
            return gcm.doFinal(sealed, IV_BYTES, sealed.length - IV_BYTES);
        } catch (AEADBadTagException e) {
            throw new IntegrityException(null, "a sealed KEK version does not open under " + describe()
                    + " for " + context + ": another key, ring or version sealed it, or it was altered");
        } catch (GeneralSecurityException | ProviderException e) {
            if (rootCause(e).contains("CKR_ENCRYPTED_DATA_INVALID") || rootCause(e).contains("CKR_ENCRYPTED_DATA_LEN_RANGE")) {
                throw new IntegrityException(null, "a sealed KEK version does not open under " + describe() + " for " + context);
            }
            throw new UnavailableException("AES-GCM in the PKCS#11 token (" + describe() + ") failed: " + rootCause(e), null, e);
        }
    }

    private void logout() {
        if (provider instanceof AuthProvider) {
            try {
                ((AuthProvider) provider).logout();
            } catch (LoginException | ProviderException ignored) {
                // nothing more to release: the session ends with the provider
            }
        }
    }

    @Override
    public void close() {
        logout();
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    static void wipe(char[] pin) {
        Arrays.fill(pin, '\0');
    }
}
