package org.openkcm.keystore.kek.awskms;

import java.util.Map;
import java.util.function.Supplier;

import org.openkcm.keystore.api.IntegrityException;
import org.openkcm.keystore.api.InvalidInputException;
import org.openkcm.keystore.api.UnavailableException;
import org.openkcm.keystore.kek.common.RootKey;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.KmsClientBuilder;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.NotFoundException;

/**
 * An AWS KMS key as the root of the ring: a new KEK version comes from {@code GenerateDataKey}
 * (AES_256), a version is sealed with {@code Encrypt} and unsealed with {@code Decrypt}, always
 * with the encryption context {@code openkcm-ring = <ring id and version>}, which KMS binds to the
 * ciphertext. KMS keeps every backing key of a rotated key, so nothing is re-sealed on rotation.
 * The SDK is called with this bundle's class loader as the thread's context class loader, since
 * the SDK looks some of its parts up there.
 */
final class KmsRootKey implements RootKey, AutoCloseable {
    static final String CONTEXT_KEY = "openkcm-ring";

    private final KmsSettings settings;
    private final KmsClient client;

    KmsRootKey(KmsSettings settings, AwsCredentialsProvider credentials) {
        this.settings = settings;
        this.client = sdk(() -> {
            KmsClientBuilder builder = KmsClient.builder().region(Region.of(settings.region))
                    .credentialsProvider(credentials)
                    .httpClient(UrlConnectionHttpClient.builder().connectionTimeout(settings.timeout)
                            .socketTimeout(settings.timeout).build())
                    .overrideConfiguration(o -> o.apiCallTimeout(settings.timeout.multipliedBy(3)));
            if (settings.endpoint != null) {
                builder.endpointOverride(settings.endpoint);
            }
            return builder.build();
        });
        try {
            KeyMetadata key = call("DescribeKey", () -> client.describeKey(r -> r.keyId(settings.keyId)).keyMetadata());
            // absent fields are the defaults (a KMS-compatible server may leave them out)
            if ((key.keyUsageAsString() != null && key.keyUsage() != KeyUsageType.ENCRYPT_DECRYPT)
                    || (key.keySpecAsString() != null && !"SYMMETRIC_DEFAULT".equals(key.keySpecAsString()))) {
                throw new InvalidInputException("key.id", describe() + " is a " + key.keySpecAsString() + " key for "
                        + key.keyUsageAsString() + ": a symmetric (SYMMETRIC_DEFAULT) ENCRYPT_DECRYPT key is needed");
            }
            if (key.keyStateAsString() != null && key.keyState() != KeyState.ENABLED) {
                throw new UnavailableException(describe() + " is " + key.keyStateAsString() + ", not Enabled");
            }
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** The configured credentials: the SDK's default chain, or a static key whose secret is read by reference. */
    static AwsCredentialsProvider credentials(KmsSettings settings, java.util.function.UnaryOperator<String> environment) {
        if (!settings.staticCredentials) {
            return sdk(DefaultCredentialsProvider::create);
        }
        String secret = new String(settings.secretAccessKey.read(environment));
        if (settings.sessionToken == null) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(settings.accessKeyId, secret));
        }
        String session = new String(settings.sessionToken.read(environment));
        return StaticCredentialsProvider.create(AwsSessionCredentials.create(settings.accessKeyId, secret, session));
    }

    @Override
    public String describe() {
        return settings.where();
    }

    @Override
    public byte[] seal(byte[] kek, String context) {
        return call("Encrypt", () -> client.encrypt(r -> r.keyId(settings.keyId).plaintext(SdkBytes.fromByteArray(kek))
                .encryptionContext(Map.of(CONTEXT_KEY, context))).ciphertextBlob().asByteArray());
    }

    @Override
    public byte[] unseal(byte[] sealed, String context) {
        return call("Decrypt", () -> client.decrypt(r -> r.keyId(settings.keyId).ciphertextBlob(SdkBytes.fromByteArray(sealed))
                .encryptionContext(Map.of(CONTEXT_KEY, context))).plaintext().asByteArray());
    }

    @Override
    public GeneratedKek generate(String context) {
        GenerateDataKeyResponse r = call("GenerateDataKey", () -> client.generateDataKey(g -> g.keyId(settings.keyId)
                .keySpec(DataKeySpec.AES_256).encryptionContext(Map.of(CONTEXT_KEY, context))));
        return new GeneratedKek(r.plaintext().asByteArray(), r.ciphertextBlob().asByteArray());
    }

    private <T> T call(String operation, Supplier<T> request) {
        try {
            return sdk(request);
        } catch (InvalidCiphertextException | IncorrectKeyException e) {
            throw new IntegrityException(null, "KMS " + operation + " refused a sealed KEK version of the ring ("
                    + e.awsErrorDetails().errorCode() + "): another key, ring or version sealed it, or it was altered");
        } catch (NotFoundException e) {
            throw new InvalidInputException("key.id", describe() + " does not exist (KMS " + operation + ": NotFound)");
        } catch (KmsException e) {
            String code = e.awsErrorDetails() == null ? "HTTP " + e.statusCode() : e.awsErrorDetails().errorCode();
            throw new UnavailableException("KMS " + operation + " with " + describe() + " failed: " + code
                    + (e.statusCode() == 400 || e.statusCode() == 403 ? " (check the credentials and the key policy)" : ""), null, e);
        } catch (SdkClientException e) {
            throw new UnavailableException("KMS at " + (settings.endpoint == null ? settings.region : settings.endpoint)
                    + " cannot be reached for " + operation + ": " + e.getMessage(), null, e);
        } catch (SdkException e) {
            throw new UnavailableException("KMS " + operation + " with " + describe() + " failed: " + e.getMessage(), null, e);
        }
    }

    /** Runs SDK code with this bundle's class loader as the context class loader. */
    private static <T> T sdk(Supplier<T> work) {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(KmsRootKey.class.getClassLoader());
        try {
            return work.get();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
