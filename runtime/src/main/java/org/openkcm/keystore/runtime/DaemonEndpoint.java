package org.openkcm.keystore.runtime;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Where {@code bin/keystore -c} reaches a running daemon over gRPC, and the TLS folder holding the
 * admin certificate it presents and the CA it trusts: given with {@code --connect HOST:PORT} (the
 * home's {@code data/tls/}), or, for the daemon holding the home, what its gRPC server wrote in
 * {@code data/grpc.endpoint} while it runs.
 *
 * @param target {@code HOST:PORT}
 * @param tls the folder of {@code ca.pem}, {@code admin.pem} and {@code admin.key}
 */
record DaemonEndpoint(String target, Path tls) {

    /** The file the daemon's gRPC server writes in {@code data/} (see the grpc bundle). */
    static final String FILE = "grpc.endpoint";

    /** The daemon at {@code --connect HOST:PORT}, with the home's admin certificate. */
    static DaemonEndpoint given(String target, Home home) {
        return new DaemonEndpoint(target, home.data().resolve("tls"));
    }

    /**
     * The daemon running on the home, as its gRPC server says.
     *
     * @throws IOException with a one-line reason if it says nothing (no gRPC server runs there)
     */
    static DaemonEndpoint of(Home home) throws IOException {
        Path file = home.data().resolve(FILE);
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (NoSuchFileException e) {
            throw new IOException("it serves no gRPC endpoint (no " + file + "); is its gRPC server configured?"
                    + " Or give --connect HOST:PORT");
        }
        String target = p.getProperty("target");
        String tls = p.getProperty("tls.directory");
        if (target == null || target.isBlank() || tls == null || tls.isBlank()) {
            throw new IOException(file + " does not name a target and a tls.directory");
        }
        return new DaemonEndpoint(target.trim(), Path.of(tls.trim()));
    }
}
