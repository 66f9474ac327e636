package org.openkcm.keystore.secrets;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Whether a host is a literal loopback address, the only place a secret may be sent over plain http.
 * Only a literal counts (127.0.0.0/8, ::1): a name, "localhost" included, is resolved by whatever
 * resolver the host has and may point elsewhere.
 */
public final class LoopbackAddress {

    private LoopbackAddress() {
    }

    /** @param host a URI's host, an IPv6 literal with or without its brackets */
    public static boolean isLiteral(String host) {
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        boolean literal = bare.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || (bare.contains(":") && bare.matches("[0-9A-Fa-f:.]+"));
        if (!literal) {
            return false;
        }
        try {
            // A literal is parsed, never looked up.
            return InetAddress.getByName(bare).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
