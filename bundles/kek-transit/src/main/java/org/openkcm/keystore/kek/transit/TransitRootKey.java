package org.openkcm.keystore.kek.transit;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;

import io.github.jopenlibs.vault.json.Json;
import io.github.jopenlibs.vault.json.JsonObject;
import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.kek.common.LocalKekRing;
import org.openkcm.keystore.kek.common.RootKey;

/**
 * An OpenBao Transit key as the root of the ring: {@code transit/encrypt} seals a KEK version,
 * {@code transit/decrypt} unseals it, {@code transit/rewrap} moves it to the key's latest version
 * after {@code transit/keys/<key>/rotate}. The context (ring id and version) is sealed in front
 * of the KEK and checked at unseal, so it works with any Transit key type that encrypts (no
 * {@code derived} key needed), and a sealed version moved to another ring or version is refused.
 */
final class TransitRootKey implements RootKey {
    private final TransitClient client;
    private final TransitSettings settings;
    private final int latestVersion;

    /** Reads the key's description once: it must exist and be able to encrypt. */
    TransitRootKey(TransitClient client, TransitSettings settings) {
        this.client = client;
        this.settings = settings;
        TransitClient.Response key = client.get(settings.mount + "/keys/" + settings.keyName);
        if (key.status == 404) {
            throw new InvalidInputException("key.name", "the Transit key " + settings.mount + "/keys/" + settings.keyName
                    + " does not exist at " + settings.address + (settings.namespace.isEmpty() ? "" : " (namespace "
                    + settings.namespace + ")") + ": create it (bao write -f " + settings.mount + "/keys/"
                    + settings.keyName + ") or fix mount/key.name");
        }
        if (key.status != 200) {
            throw new UnavailableException("cannot read the Transit key " + settings.mount + "/keys/" + settings.keyName
                    + ": " + key.errors());
        }
        JsonObject data = key.data();
        if (!data.getBoolean("supports_encryption", true) || !data.getBoolean("supports_decryption", true)) {
            throw new InvalidInputException("key.name", "the Transit key " + settings.mount + "/keys/" + settings.keyName
                    + " (type " + data.getString("type", "?") + ") cannot encrypt and decrypt");
        }
        if (data.getBoolean("derived", false)) {
            throw new InvalidInputException("key.name", "the Transit key " + settings.mount + "/keys/" + settings.keyName
                    + " is a derived key; use a key created without derived=true");
        }
        this.latestVersion = data.getInt("latest_version", 1);
    }

    @Override
    public String describe() {
        return "OpenBao Transit key " + settings.mount + "/keys/" + settings.keyName + " at " + settings.address
                + (settings.namespace.isEmpty() ? "" : " namespace " + settings.namespace);
    }

    @Override
    public byte[] seal(byte[] kek, String context) {
        byte[] plaintext = bind(context, kek);
        try {
            TransitClient.Response r = client.post(settings.mount + "/encrypt/" + settings.keyName,
                    Json.object().add("plaintext", Base64.getEncoder().encodeToString(plaintext)));
            if (r.status != 200) {
                throw new UnavailableException("Transit encrypt with " + describe() + " failed: " + r.errors());
            }
            return ciphertext(r, "encrypt");
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    @Override
    public byte[] unseal(byte[] sealed, String context) {
        TransitClient.Response r = client.post(settings.mount + "/decrypt/" + settings.keyName,
                Json.object().add("ciphertext", new String(sealed, StandardCharsets.US_ASCII)));
        if (r.status == 400) {
            // the ciphertext is not this key's, was altered, or is under a version below min_decryption_version
            throw new IntegrityException(null, "the sealed KEK version is refused by " + describe() + ": " + r.errors());
        }
        if (r.status != 200) {
            throw new UnavailableException("Transit decrypt with " + describe() + " failed: " + r.errors());
        }
        byte[] plaintext = Base64.getDecoder().decode(r.data().getString("plaintext", ""));
        try {
            byte[] expected = context.getBytes(StandardCharsets.UTF_8);
            int n = expected.length;
            if (plaintext.length != n + 1 + LocalKekRing.KEK_BYTES
                    || !Arrays.equals(plaintext, 0, n, expected, 0, n) || plaintext[n] != 0) {
                throw new IntegrityException(null, "a sealed KEK version unsealed by " + describe()
                        + " belongs to another ring or version than " + context);
            }
            return Arrays.copyOfRange(plaintext, n + 1, plaintext.length);
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    @Override
    public Optional<byte[]> refresh(byte[] sealed, String context) {
        if (sealedVersion(sealed) >= latestVersion) {
            return Optional.empty();
        }
        TransitClient.Response r = client.post(settings.mount + "/rewrap/" + settings.keyName,
                Json.object().add("ciphertext", new String(sealed, StandardCharsets.US_ASCII)));
        if (r.status != 200) {
            throw new UnavailableException("Transit rewrap with " + describe() + " failed: " + r.errors());
        }
        return Optional.of(ciphertext(r, "rewrap"));
    }

    /** The Transit key version in a ciphertext "vault:v&lt;n&gt;:…". */
    static int sealedVersion(byte[] sealed) {
        String text = new String(sealed, StandardCharsets.US_ASCII);
        int end = text.indexOf(':', 7);
        if (!text.startsWith("vault:v") || end < 0) {
            throw new IntegrityException(null, "a sealed KEK version is not a Transit ciphertext (vault:v<n>:...)");
        }
        try {
            return Integer.parseInt(text.substring(7, end));
        } catch (NumberFormatException e) {
            throw new IntegrityException(null, "a sealed KEK version is not a Transit ciphertext (vault:v<n>:...)");
        }
    }

    private byte[] ciphertext(TransitClient.Response r, String operation) {
        String ciphertext = r.data().getString("ciphertext", null);
        if (ciphertext == null || !ciphertext.startsWith("vault:v")) {
            throw new UnavailableException("Transit " + operation + " with " + describe() + " returned no ciphertext");
        }
        return ciphertext.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] bind(String context, byte[] kek) {
        byte[] c = context.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[c.length + 1 + kek.length];
        System.arraycopy(c, 0, out, 0, c.length);
        System.arraycopy(kek, 0, out, c.length + 1, kek.length);
        return out;
    }
}
