package org.openkcm.keystore.grpc;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Identifies the caller of every call, health and reflection included, by its client certificate.
 * <p>
 * The TLS handshake asks for a client certificate but does not insist (a refused handshake gives
 * the client no status at all); this interceptor then answers UNAUTHENTICATED to a call without a
 * certificate, or with one that is not issued by the client CA or not valid now. The chain is
 * checked once per TLS session, validity again at each call.
 */
final class ClientAuthentication implements ServerInterceptor {
    private static final String VERIFIED = "openkcm.keystore.verified-client";

    private final Set<TrustAnchor> clientCas;
    private final Supplier<List<ClientGrant>> grants;

    ClientAuthentication(Collection<X509Certificate> clientCas, Supplier<List<ClientGrant>> grants) {
        this.clientCas = Set.copyOf(clientCas.stream().map(ca -> new TrustAnchor(ca, null)).toList());
        this.grants = grants;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        X509Certificate certificate;
        try {
            certificate = verifiedClient(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        } catch (StatusMapping.NotAuthenticatedException e) {
            call.close(Status.UNAUTHENTICATED.withDescription(e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        List<String> names = alternativeNames(certificate);
        List<ClientGrant> applying = grants.get().stream()
                .filter(g -> g.appliesTo(certificate.getSubjectX500Principal(), names)).toList();
        Caller caller = new Caller(certificate.getSubjectX500Principal(), applying);
        return Contexts.interceptCall(Context.current().withValue(Caller.CONTEXT_KEY, caller), call, headers, next);
    }

    X509Certificate verifiedClient(SSLSession session) {
        if (session == null) {
            throw new StatusMapping.NotAuthenticatedException("no TLS session");
        }
        X509Certificate[] chain;
        try {
            chain = Arrays.stream(session.getPeerCertificates()).map(X509Certificate.class::cast)
                    .toArray(X509Certificate[]::new);
        } catch (SSLPeerUnverifiedException | ClassCastException e) {
            throw new StatusMapping.NotAuthenticatedException("no client certificate");
        }
        if (chain.length == 0) {
            throw new StatusMapping.NotAuthenticatedException("no client certificate");
        }
        Object verified = session.getValue(VERIFIED);
        if (!(verified instanceof X509Certificate known && known.equals(chain[0]))) {
            verifyChain(chain);
            session.putValue(VERIFIED, chain[0]);
        }
        try {
            chain[0].checkValidity();
        } catch (GeneralSecurityException e) {
            throw new StatusMapping.NotAuthenticatedException("the client certificate is expired or not yet valid");
        }
        return chain[0];
    }

    private void verifyChain(X509Certificate[] chain) {
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            PKIXParameters parameters = new PKIXParameters(clientCas);
            // Client certificates of the local CA carry no revocation information; validity is checked.
            parameters.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(factory.generateCertPath(Arrays.asList(chain)), parameters);
        } catch (GeneralSecurityException e) {
            throw new StatusMapping.NotAuthenticatedException(
                    "the client certificate is not issued by the client CA, or is expired");
        }
    }

    static List<String> alternativeNames(X509Certificate certificate) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && san.get(1) instanceof String name) {
                        names.add(name);
                    }
                }
            }
        } catch (GeneralSecurityException e) {
            // An unparsable extension matches no grant by SAN; the subject still identifies the caller.
        }
        return names;
    }
}
