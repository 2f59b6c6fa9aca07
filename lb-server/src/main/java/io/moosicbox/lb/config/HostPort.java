package io.moosicbox.lb.config;

/** A listen or connect address, {@code host:port}; IPv6 hosts are written in brackets. */
public record HostPort(String host, int port) {

    public HostPort {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535");
        }
    }

    /** @throws IllegalArgumentException with a message fit for a configuration error */
    public static HostPort parse(String text) {
        String s = text == null ? "" : text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("expected host:port, such as 0.0.0.0:80");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("expected host:port; write an IPv6 host in brackets, such as [::1]:80");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected host:port with a numeric port, such as 0.0.0.0:80");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535");
        }
        if (host.isBlank()) {
            throw new IllegalArgumentException("expected host:port, such as 0.0.0.0:80");
        }
        return new HostPort(host, port);
    }

    /** The host and port a URL connects to. */
    public static HostPort of(java.net.URI url) {
        if (url.getHost() == null && url.getRawAuthority() != null) {
            // A name with '_' (BackendSpec.parseUrl): java.net.URI keeps only the authority, host:port.
            return parse(url.getRawAuthority());
        }
        String host = url.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = url.getPort() > 0 ? url.getPort() : ("https".equalsIgnoreCase(url.getScheme()) ? 443 : 80);
        return new HostPort(host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
