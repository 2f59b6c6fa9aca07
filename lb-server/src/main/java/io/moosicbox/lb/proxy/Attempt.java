package io.moosicbox.lb.proxy;

import io.moosicbox.lb.pool.Lease;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;

/**
 * One try of a client request on one backend: its timing, its lease (released once, when the
 * try ends) and its response-headers deadline. One object registered for every event of the
 * backend request, rather than a closure per event. The try goes through Jetty's client
 * ({@link #request}) or through a {@link DirectConnection} ({@link #direct}), which reports the
 * same events by calling {@link #began()}, {@link #sentWhole()}, {@link #responseBegan()} and
 * {@link #ended}.
 */
final class Attempt implements Request.BeginListener, Request.SuccessListener, Response.BeginListener, Response.CompleteListener {
    private static final Object ENDED = new Object();

    final ProxyExchange exchange;
    final Lease lease;
    /** Jetty's request of this try; null for a direct one. */
    final Request request;
    /** The direct try's abort; null when the try goes through Jetty's client. */
    private final java.util.function.Consumer<Throwable> direct;
    private final HeadersDeadlines deadlines;
    /** Null until the request is sent whole, then its deadline; {@link #ENDED} once the response began or the try ended. */
    private final AtomicReference<Object> deadline = new AtomicReference<>();
    /** When the request began going to the backend; 0 before. */
    volatile long sentNanos;
    /** From sending to the response headers; -1 while none came. */
    volatile long upstreamNanos = -1;
    volatile boolean backendFailure;
    /** The request reached the backend whole: from here on, only the backend's answer is awaited. */
    volatile boolean sentWhole;

    /** @param deadlines the response-headers timeout, or null when there is none */
    Attempt(ProxyExchange exchange, Lease lease, Request request, HeadersDeadlines deadlines) {
        this.exchange = exchange;
        this.lease = lease;
        this.request = request;
        this.direct = null;
        this.deadlines = deadlines;
    }

    /** A direct try: its events come from the caller, and {@code abort} ends it. */
    Attempt(ProxyExchange exchange, Lease lease, java.util.function.Consumer<Throwable> abort, HeadersDeadlines deadlines) {
        this.exchange = exchange;
        this.lease = lease;
        this.request = null;
        this.direct = abort;
        this.deadlines = deadlines;
    }

    /** Ends the try with this failure (the client left, or a deadline passed). */
    void abort(Throwable failure) {
        if (request != null) {
            request.abort(failure);
        } else {
            direct.accept(failure);
        }
    }

    /** Registers the attempt for the events of its backend request; before it is sent. */
    Attempt listen() {
        request.onRequestBegin(this).onRequestSuccess(this).onResponseBegin(this).onComplete(this);
        return this;
    }

    boolean sent() {
        return sentNanos != 0;
    }

    boolean answered() {
        return upstreamNanos >= 0;
    }

    @Override
    public void onBegin(Request request) {
        began();
    }

    void began() {
        sentNanos = System.nanoTime();
    }

    /** Sent whole: the backend now has the timeout to begin its answer (a long upload is not a slow backend). */
    @Override
    public void onSuccess(Request request) {
        sentWhole();
    }

    void sentWhole() {
        sentWhole = true;
        if (deadlines != null) {
            HeadersDeadlines.Pending p = deadlines.start(this::abort);
            // The response may have begun already: then the deadline is dropped at once.
            if (!deadline.compareAndSet(null, p)) {
                deadlines.cancel(p);
            }
        }
    }

    @Override
    public void onBegin(Response response) {
        responseBegan();
    }

    void responseBegan() {
        endDeadline();
        long sent = sentNanos;
        if (sent != 0) {
            upstreamNanos = System.nanoTime() - sent;
            lease.backend().recordLatency(upstreamNanos);
        }
    }

    @Override
    public void onComplete(Result result) {
        endDeadline();
        // A client that hung up, stopped reading or sent a broken body says nothing about the backend,
        // nor does a backend silent while the client had not taken the last write.
        boolean failed = !exchange.excusesBackend(result.getFailure()) && BalancingProxyHandler.isBackendFailure(result);
        backendFailure = failed;
        lease.release(failed || isCounted5xx(result.getResponse() == null ? 0 : result.getResponse().getStatus()));
    }

    /**
     * A direct try ended, once.
     *
     * @param failure why it failed; null when the whole response came back
     * @param status the backend's status; 0 when none came
     * @param backendsFault whether the failure, when there is one, is of a kind that counts against a backend
     */
    void ended(Throwable failure, int status, boolean backendsFault) {
        endDeadline();
        boolean failed = failure != null && backendsFault && !exchange.excusesBackend(failure);
        backendFailure = failed;
        lease.release(failed || isCounted5xx(status));
    }

    private void endDeadline() {
        if (deadlines != null && deadline.getAndSet(ENDED) instanceof HeadersDeadlines.Pending p) {
            deadlines.cancel(p);
        }
    }

    /** Whether the cluster counts this 5xx answer against the backend's passive health. */
    private boolean isCounted5xx(int status) {
        return status >= 500 && exchange.cluster.config().pool().ejectOn5xx();
    }
}
