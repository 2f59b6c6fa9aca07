package io.moosicbox.lb.dist;

import io.moosicbox.lb.config.HostPort;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * {@code bin/moosicbox_lb --health-check [URL]}: asks a running balancer's admin {@code /health}
 * and exits 0 when it answers 200, else 1. It exists for container HEALTHCHECKs, so that an image
 * needs no curl or wget: only the Java runtime it already has.
 */
public final class HealthCheck {
    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    private HealthCheck() {}

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length > 1) {
            // A second argument was ignored: "--health-check URL --verbose" checked the URL without a word.
            err.println("moosicbox_lb --health-check: unexpected '" + args[1] + "' after the URL; usage: --health-check [URL]");
            return Main.EXIT_CONFIG;
        }
        URI url;
        // Set but empty is the default, as the balancer reads it (Compose's ${UNSET}): it exited 2 here.
        String admin = env.get("ADMIN_BIND_ADDRESS");
        String setting = args.length > 0 ? "URL" : admin == null || admin.isEmpty() ? "127.0.0.1:9090 (the default)"
                : "ADMIN_BIND_ADDRESS=\"" + admin + "\"";
        try {
            url = args.length > 0 ? URI.create(args[0]) : healthUrl(admin == null || admin.isEmpty() ? "127.0.0.1:9090" : admin);
            if (!("http".equalsIgnoreCase(url.getScheme()) || "https".equalsIgnoreCase(url.getScheme())) || url.getHost() == null) {
                // A relative or hostless URI parses, then failed in the HTTP client with a stack trace.
                throw new IllegalArgumentException("'" + url + "' is not an http:// or https:// URL with a host");
            }
        } catch (IllegalArgumentException e) {
            err.println("moosicbox_lb --health-check: " + setting + ": " + e.getMessage());
            return Main.EXIT_CONFIG;
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
        try {
            HttpResponse<String> response = client.send(
                    HttpRequest.newBuilder(url).timeout(TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 200) {
                out.println(url + ": " + response.body().strip());
                return Main.EXIT_OK;
            }
            err.println(url + ": HTTP " + response.statusCode() + " " + response.body().strip());
        } catch (IOException e) {
            // What went wrong, not the exception's class: "java.net.ConnectException" said little.
            err.println(url + ": " + (e instanceof java.net.ConnectException ? "connection refused (is the balancer running, "
                    + "with its admin listener there?)" : e instanceof java.net.http.HttpTimeoutException ? "no answer within "
                    + TIMEOUT.toSeconds() + " s" : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println(url + ": interrupted");
        }
        return Main.EXIT_FAILURE;
    }

    /** The admin listener as a client reaches it: a wildcard listen address means this host. */
    static URI healthUrl(String adminBindAddress) {
        HostPort admin = HostPort.parse(adminBindAddress);
        String host = switch (admin.host()) {
            case "0.0.0.0" -> "127.0.0.1";
            case "::", "0:0:0:0:0:0:0:0" -> "::1";
            default -> admin.host();
        };
        return URI.create("http://" + new HostPort(host, admin.port()) + "/health");
    }
}
