package org.openkcm.keystore.secrets;

/**
 * What a secret is for. The two never share a source under a {@link SecretPolicy}: a root a KEK
 * provider reads can never be sent to a server as a token or a password, and the reverse.
 */
public enum SecretUse {
    /** What a KEK provider reads: the Transit token, the PKCS#11 PIN, the AWS credentials. */
    KEK,
    /** A backend's credential sent to its server: the OpenBao token or AppRole ids, the PostgreSQL password. */
    CREDENTIAL
}
