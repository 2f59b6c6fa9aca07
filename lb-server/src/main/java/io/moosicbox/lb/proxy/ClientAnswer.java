package io.moosicbox.lb.proxy;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable.InvocationType;

/**
 * Writes one backend answer to the client, the same way whichever path read it (Jetty's client
 * or a {@link DirectConnection}). The chunk that completes the length the backend announced is
 * written as the response's last: Jetty's proxy writes every chunk as not the last and then an
 * empty last write, which to an HTTP/2 client is an empty DATA frame with END_STREAM in a write of
 * its own (docs/benchmarks.md). The headers go to the client as soon as the backend's connection
 * has to wait for the body (a transcode starting showed nothing). And the exchange knows while a
 * write waits for the client: a backend silent meanwhile was not read, which is the client's doing.
 * Its methods run one at a time, between the backend connection's reads.
 */
final class ClientAnswer {
    private final ProxyExchange exchange;
    private final Response response;
    /** Read when the exchange begins: the backend connection's idle check may come after the client's request ended. */
    private final boolean http1Client;
    /** Body bytes the backend has still to send; -1 when it did not say (chunked, or up to the close). */
    private long remaining = -1;
    private boolean lastWritten;

    ClientAnswer(ProxyExchange exchange) {
        this.exchange = exchange;
        this.response = exchange.response;
        this.http1Client = exchange.request.getConnectionMetaData().getHttpVersion().getVersion() < 20;
    }

    /**
     * After the backend's headers were copied to the response: the headers its Connection names
     * are dropped too (RFC 9110 7.6.1; the fixed hop-by-hop list is dropped by the copy), and a
     * 204 loses its length (it has no body whatever length it names, RFC 9110 8.6: passed on, the
     * length would fail the response when the body it promises never comes).
     */
    void headersCopied(int status, HttpFields backendHeaders) {
        if (backendHeaders.contains(HttpHeader.CONNECTION)) {
            for (String name : HeaderLists.of(backendHeaders, HttpHeader.CONNECTION)) {
                response.getHeaders().remove(name);
            }
        }
        if (status == HttpStatus.NO_CONTENT_204) {
            response.getHeaders().remove(HttpHeader.CONTENT_LENGTH);
            return;
        }
        try {
            remaining = backendHeaders.getLongField(HttpHeader.CONTENT_LENGTH);
        } catch (NumberFormatException e) {
            remaining = -1;
        }
    }

    /**
     * Writes a piece of the body; {@code taken} runs once the client took it. A failure is the
     * client's: it hung up, or stopped reading for IDLE_TIMEOUT (a paused player).
     */
    void write(ByteBuffer content, Callback taken) {
        int size = content.remaining();
        boolean last = remaining > 0 && size == remaining;
        if (remaining > 0) {
            remaining -= size;
        }
        if (last) {
            lastWritten = true;
            exchange.responseWritten = true;
        }
        exchange.waitingForClient = true;
        response.write(last, content, new Callback() {
            @Override
            public void succeeded() {
                exchange.clientTookNanos = System.nanoTime();
                exchange.waitingForClient = false;
                taken.succeeded();
            }

            @Override
            public void failed(Throwable failure) {
                exchange.clientFailure = true;
                taken.failed(failure);
            }

            @Override
            public InvocationType getInvocationType() {
                return InvocationType.NON_BLOCKING;
            }
        });
    }

    /** Whether the piece that ended the body went out as the response's last write. */
    boolean lastWritten() {
        return lastWritten;
    }

    /**
     * Before the backend's connection waits for more of the body: the headers go out first. Runs
     * when no write to the client is in flight, so this write cannot overlap another; the
     * connection reads on once the headers are out, so a client that cannot take them holds the backend back.
     *
     * @param resume makes the connection wait; run once the headers are out
     * @param abort ends the backend's side when they cannot be written
     * @return whether this took {@code resume} over; false when the response is already committed
     */
    boolean headersFirst(Runnable resume, Consumer<Throwable> abort) {
        if (response.isCommitted()) {
            return false;
        }
        exchange.waitingForClient = true;
        response.write(false, BufferUtil.EMPTY_BUFFER, Callback.from(InvocationType.NON_BLOCKING, () -> {
            exchange.clientTookNanos = System.nanoTime();
            exchange.waitingForClient = false;
            resume.run();
        }, failure -> {
            exchange.clientFailure = true;
            abort.accept(failure);
        }));
        return true;
    }

    /**
     * Only an HTTP/1 client's connection decides for the backend's: its idle timeout tells a slow
     * reader from a paused one (Http1ConnectionFactory). An HTTP/2 stream's write waits for
     * its window, while the connection may stay busy with other streams. A write the client
     * took within the timeout counts too: the backend's connection is read right after it, and
     * the two timeouts, started together, fire together.
     */
    boolean heldByClient(long idleTimeoutMillis) {
        return http1Client && (exchange.waitingForClient
                || System.nanoTime() - exchange.clientTookNanos < TimeUnit.MILLISECONDS.toNanos(idleTimeoutMillis));
    }

    /**
     * Ends a response whose last write has not been made (no length, or a bodiless answer); then {@code done}.
     * Jetty gives a response whose one write is its last the length of that write: a HEAD of a
     * transcode (no length) would tell the client "content-length: 0". Its headers go out first,
     * as they came, and the end after them.
     */
    void end(int status, Callback done) {
        exchange.responseWritten = true;
        boolean bodiless = HttpMethod.HEAD.is(exchange.request.getMethod()) || status == HttpStatus.NO_CONTENT_204
                || status == HttpStatus.NOT_MODIFIED_304;
        if (!response.isCommitted() && !response.getHeaders().contains(HttpHeader.CONTENT_LENGTH) && bodiless) {
            // The last write fails the same way as the first would, and ends the exchange as usual.
            response.write(false, BufferUtil.EMPTY_BUFFER, Callback.from(InvocationType.NON_BLOCKING,
                    () -> response.write(true, BufferUtil.EMPTY_BUFFER, done),
                    failure -> response.write(true, BufferUtil.EMPTY_BUFFER, done)));
            return;
        }
        response.write(true, BufferUtil.EMPTY_BUFFER, done);
    }
}
