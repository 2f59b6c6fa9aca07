package io.moosicbox.lb.bench;

import io.moosicbox.lb.proxy.ForwardedHeaders;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Nanoseconds per rewrite of a request's forwarding headers ({@link ForwardedHeaders#set}) on the
 * headers of a MoosicBox player's stream request, copied first as the proxy copies the client's
 * headers into the backend request. {@code client}: a client that sent its own X-Forwarded-For
 * and Forwarded, which are replaced; {@code trusted}: a trusted proxy's, appended to;
 * {@code copy_only}: the copy alone, which Jetty defers until the first change (so the other two
 * include it). How to run: README, Development.
 */
public class HeaderRewriteBenchmark extends NanosPerOperation {
    @Param({"client", "trusted", "copy_only"})
    public String kind;

    private HttpFields request;
    private ForwardedHeaders.Client client;
    private boolean trusted;

    @Setup
    public void setup() {
        request = HttpFields.build()
                .put(HttpHeader.HOST, "music.example.com")
                .put(HttpHeader.USER_AGENT, "MoosicBox/0.1 (Linux; x86_64)")
                .put(HttpHeader.ACCEPT, "*/*")
                .put(HttpHeader.ACCEPT_ENCODING, "gzip, deflate, br")
                .put(HttpHeader.ACCEPT_LANGUAGE, "en-US,en;q=0.9")
                .put(HttpHeader.RANGE, "bytes=1048576-")
                .put(HttpHeader.AUTHORIZATION, "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGF5ZXIifQ.c2lnbmF0dXJl")
                .put(HttpHeader.COOKIE, "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark")
                .put(HttpHeader.X_FORWARDED_FOR, "203.0.113.9")
                .put(HttpHeader.FORWARDED, "for=203.0.113.9;proto=https")
                .asImmutable();
        client = new ForwardedHeaders.Client("192.0.2.44", "https", "music.example.com", 443);
        trusted = kind.equals("trusted");
        // A benchmark of the wrong answer measures nothing.
        HttpFields.Mutable check = HttpFields.build(request);
        if (!kind.equals("copy_only")) {
            ForwardedHeaders.set(client, check, trusted);
            String expected = trusted ? "203.0.113.9, 192.0.2.44" : "192.0.2.44";
            if (!expected.equals(check.get(HttpHeader.X_FORWARDED_FOR))) {
                throw new IllegalStateException(kind + ": X-Forwarded-For " + check.get(HttpHeader.X_FORWARDED_FOR));
            }
        }
    }

    @Benchmark
    public HttpFields.Mutable rewrite() {
        HttpFields.Mutable headers = HttpFields.build(request);
        if (!kind.equals("copy_only")) {
            ForwardedHeaders.set(client, headers, trusted);
        }
        return headers;
    }
}
