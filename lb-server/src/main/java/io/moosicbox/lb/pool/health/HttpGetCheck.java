package io.moosicbox.lb.pool.health;

import io.moosicbox.lb.pool.Backend;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;

/** Healthy when {@code GET path} answers 2xx or 3xx (redirects are not followed) within the timeout. */
public final class HttpGetCheck implements HealthCheck {
    private final HttpClient client;
    private final String path;

    /** @param client started by the caller, shared by every check */
    public HttpGetCheck(HttpClient client, String path) {
        this.client = client;
        this.path = path;
    }

    @Override
    public void check(Backend backend, Duration timeout) throws Exception {
        URI base = backend.resolvedUrl();
        CompletableFuture<Result> done = new CompletableFuture<>();
        long millis = Math.max(1, timeout.toMillis());
        // Only the status counts: the body is read and dropped, not buffered (send() stops at 2 MiB
        // and called a healthy endpoint with a large body DOWN).
        client.newRequest(base + path)
                // Jetty names the address it connects to; for a name with '_' that is not the backend's name.
                .headers(h -> {
                    if (!base.equals(backend.url())) {
                        h.put(HttpHeader.HOST, backend.address());
                    }
                })
                .method(HttpMethod.GET)
                .followRedirects(false)
                .timeout(millis, TimeUnit.MILLISECONDS)
                .send(new Response.Listener() {
                    @Override
                    public void onComplete(Result result) {
                        done.complete(result);
                    }
                });
        Result result = done.get(millis + 5_000, TimeUnit.MILLISECONDS);
        if (result.isFailed()) {
            throw result.getFailure() instanceof Exception e ? e : new IOException(result.getFailure());
        }
        int status = result.getResponse().getStatus();
        if (status < 200 || status >= 400) {
            throw new IOException("GET " + path + " answered " + status);
        }
    }

    @Override
    public String toString() {
        return "HTTP GET " + path;
    }
}
