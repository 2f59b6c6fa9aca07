package io.moosicbox.lb.proxy;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable.InvocationType;

/**
 * One HTTP/1.1 connection to a backend, one exchange at a time, for the requests that need
 * nothing of Jetty's client but a request head out and a response back: no body to send, a
 * clear-text backend (see {@link DirectBackends}). It writes the head the proxy built, parses the
 * answer with Jetty's {@link HttpParser} and hands each piece of the body to the {@link Call},
 * reading no further until the client took it, so a slow client holds back its backend, not memory.
 *
 * <p>Why it exists: Jetty's client and proxy cost about 13 of the 35 us of CPU a proxied 1 KiB
 * request took on a 2-core machine, with its request and response objects, listener lists and
 * content sources per exchange (docs/benchmarks.md, "A direct exchange"). Everything else (retries, timeouts,
 * reports) stays in {@link BalancingProxyHandler}, through the same {@link Attempt}.
 *
 * <p>Threads: the connection's own events (reads, the idle timeout) run on its selector; a
 * resumption after the client took a write runs on the client's thread while no read is pending.
 * An abort may come from anywhere and only closes the endpoint; whichever of the end and the
 * failure claims {@link #current} first reports it, once.
 */
final class DirectConnection extends AbstractConnection implements HttpParser.ResponseHandler {
    /** Largest backend response head taken; a larger one fails the attempt as a bad response. */
    static final int MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int CLOSED = 2;

    /** What one exchange does with the backend's answer; its methods run one at a time. */
    interface Call {
        /** The exchange got this connection and is about to write its request on it. */
        void attached(DirectConnection connection);

        /** The request line and headers, ready to write. */
        ByteBuffer requestHead();

        boolean headRequest();

        /** The head was handed whole to the backend's socket. */
        void sent();

        /** A 1xx answer other than 101, before the final one. */
        void interim(int status, HttpFields headers);

        /** The final answer's status and headers. The call may {@link DirectConnection#abort} here. */
        void headers(int status, HttpFields headers);

        /** A piece of the body; {@code taken} runs once the client took it (or fails with why not). */
        void content(ByteBuffer content, Callback taken);

        /**
         * Runs before the connection waits for more of the body, when it has to.
         *
         * @return whether the call took {@code resume} over (to run once); when false the connection waits at once
         */
        boolean beforeWait(Runnable resume);

        /** Whether the backend's silence is the client's: its last write is not taken yet (see {@link Http11BackendConnections.BodyWait}). */
        boolean heldByClient(long idleTimeoutMillis);

        /** The whole response came back; the connection is already free for another exchange. */
        void completed(int status);

        /**
         * The exchange failed, once.
         *
         * @param answered whether the backend's status line and headers had come
         */
        void failed(Throwable failure, boolean answered);
    }

    /** A response the backend sent that cannot be passed on: it is the backend's failure. */
    static final class BadResponse extends java.io.IOException {
        BadResponse(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final DirectBackends.Pool pool;
    private final ByteBufferPool buffers;
    private final HttpParser parser = new HttpParser(this, MAX_RESPONSE_HEAD_BYTES);
    private final AtomicReference<Call> current = new AtomicReference<>();
    private final AtomicInteger state = new AtomicInteger(BUSY);
    /**
     * 0 no write to the client in flight; 1 one in flight, the reading thread still in
     * {@link #onFillable}; 2 one in flight and the reading thread gone: its completion reads on.
     */
    private final AtomicInteger writeState = new AtomicInteger();
    /**
     * What has still to happen before the connection can take another exchange: the head's write
     * to return, and the response to end. A backend can answer while the writing thread has not yet
     * left the write; reused then, the next write failed with a WritePendingException.
     */
    private final AtomicInteger untilReusable = new AtomicInteger();
    private final Callback readable = Callback.from(InvocationType.NON_BLOCKING, this::onFillable, this::readFailed);
    private final Runnable waitForMore = () -> tryFillInterested(readable);
    private RetainableByteBuffer input;
    private HttpFields.Mutable headers;
    private int status;
    private HttpVersion version;
    private boolean interim;
    private boolean interimDone;
    private boolean complete;
    private boolean answered;
    /** The parser stopped after handing a piece of the body to the call. */
    private boolean handedOut;
    private boolean keepAlive;

    DirectConnection(EndPoint endPoint, Executor executor, ByteBufferPool buffers, DirectBackends.Pool pool) {
        super(endPoint, executor);
        this.buffers = buffers;
        this.pool = pool;
    }

    /** Takes the connection for an exchange, unless it is closing. */
    boolean claim() {
        return state.compareAndSet(IDLE, BUSY);
    }

    /** Starts the exchange: writes the head, then reads the answer. */
    void send(Call call) {
        headers = HttpFields.build();
        status = 0;
        interim = false;
        interimDone = false;
        complete = false;
        answered = false;
        handedOut = false;
        keepAlive = true;
        parser.setHeadResponse(call.headRequest());
        untilReusable.set(2);
        current.set(call);
        call.attached(this);
        // Read interest before the write, never from the write's callback: that callback can run after
        // the answer began to be read (the writing thread preempted), and a second interest then had
        // two threads parsing the same answer.
        tryFillInterested(readable);
        getEndPoint().write(Callback.from(InvocationType.NON_BLOCKING, () -> {
            if (current.get() == call) {
                call.sent();
            }
            if (untilReusable.decrementAndGet() == 0) {
                reuse();
            }
        }, failure -> {
            fail(call, failure);
            getEndPoint().close(failure);
        }), call.requestHead());
    }

    /** Ends the exchange now: the client left, or the backend's time is up. */
    void abort(Call call, Throwable failure) {
        fail(call, failure);
    }

    @Override
    public void onFillable() {
        Call call = current.get();
        if (call == null) {
            idleReadable();
            return;
        }
        try {
            while (true) {
                if (current.get() != call) {
                    // Failed meanwhile (an abort closed the endpoint): what was read is dropped with the connection.
                    input = null;
                    return;
                }
                if (input == null) {
                    input = buffers.acquire(getInputBufferSize(), true);
                }
                ByteBuffer buffer = input.getByteBuffer();
                // Also with nothing new to read: after a piece of the body the parser stopped at, it
                // may have the message's end to report.
                parser.parseNext(buffer);
                if (complete) {
                    finish(call);
                    return;
                }
                if (interimDone) {
                    interimDone = false;
                    parser.reset();
                    headers = HttpFields.build();
                    continue;
                }
                if (handedOut) {
                    // A piece of the body went to the client: wait for it to be taken, unless it already
                    // was; then the parser goes on (it may have the message's end to report).
                    handedOut = false;
                    if (writeState.compareAndSet(1, 2)) {
                        return;
                    }
                    continue;
                }
                if (current.get() != call || buffer.hasRemaining()) {
                    continue;
                }
                int filled = getEndPoint().fill(buffer);
                if (filled < 0) {
                    parser.atEOF();
                    parser.parseNext(buffer);
                    if (complete) {
                        keepAlive = false;
                        finish(call);
                    } else if (current.get() == call) {
                        fail(call, new EofException("the backend closed the connection before its response was complete"));
                    }
                    return;
                }
                if (filled == 0) {
                    input.release();
                    input = null;
                    if (!answered || !call.beforeWait(waitForMore)) {
                        tryFillInterested(readable);
                    }
                    return;
                }
            }
        } catch (Throwable failure) {
            fail(call, failure);
        }
    }

    /** An idle connection became readable: the backend closed it (or sent what nobody asked for). */
    private void idleReadable() {
        if (state.compareAndSet(IDLE, CLOSED)) {
            pool.remove(this);
            getEndPoint().close();
        }
        // Otherwise it was just claimed: the exchange's own read finds the end and fails, and is retried.
    }

    private void readFailed(Throwable failure) {
        Call call = current.get();
        if (call != null) {
            fail(call, failure);
        } else {
            close();
        }
    }

    private void finish(Call call) {
        if (!current.compareAndSet(call, null)) {
            return;
        }
        if (input != null && !input.hasRemaining()) {
            input.release();
            input = null;
        }
        parser.reset();
        int answer = status;
        // Bytes after the response (input not empty) are a backend speaking out of turn: not reused.
        if (keepAlive && input == null && getEndPoint().isOpen()) {
            if (untilReusable.decrementAndGet() == 0) {
                reuse();
            }
        } else {
            state.set(CLOSED);
            input = null;
            getEndPoint().close();
        }
        call.completed(answer);
    }

    private void reuse() {
        state.set(IDLE);
        // Read interest while idle: a backend that closes the connection is noticed before it is used again.
        tryFillInterested(readable);
        pool.release(this);
    }

    private void fail(Call call, Throwable failure) {
        if (!current.compareAndSet(call, null)) {
            return;
        }
        state.set(CLOSED);
        getEndPoint().close(failure);
        call.failed(failure, answered);
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeout) {
        Call call = current.get();
        if (call == null) {
            if (state.compareAndSet(IDLE, CLOSED)) {
                pool.remove(this);
                return true;
            }
            return false;
        }
        if (answered && call.heldByClient(getEndPoint().getIdleTimeout())) {
            // Not read because the client has not taken the last write yet: not this connection's silence.
            return false;
        }
        fail(call, timeout);
        return false;
    }

    @Override
    public void onClose(Throwable cause) {
        super.onClose(cause);
        state.set(CLOSED);
        pool.remove(this);
        Call call = current.get();
        if (call != null) {
            fail(call, cause != null ? cause : new EofException("the connection to the backend closed"));
        }
    }

    // --- HttpParser.ResponseHandler: runs inside parseNext, on the thread that reads ---

    @Override
    public void startResponse(HttpVersion version, int status, String reason) {
        this.version = version;
        this.status = status;
        this.interim = status >= 100 && status < 200 && status != 101;
    }

    @Override
    public void parsedHeader(HttpField field) {
        headers.add(field);
    }

    @Override
    public boolean headerComplete() {
        Call call = current.get();
        if (interim) {
            if (call != null) {
                call.interim(status, headers.asImmutable());
            }
            return false;
        }
        answered = true;
        keepAlive = persistent(version, headers);
        if (call != null) {
            call.headers(status, headers);
        }
        // An abort in headers() closed the endpoint: stop parsing.
        return current.get() != call;
    }

    private static boolean persistent(HttpVersion version, HttpFields headers) {
        if (version == HttpVersion.HTTP_1_1) {
            return !headers.contains(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
        }
        return headers.contains(HttpHeader.CONNECTION, HttpHeaderValue.KEEP_ALIVE.asString());
    }

    /** The client took a piece of the body: parsing goes on where it stopped, on this thread if the reading one has left. */
    private final Callback written = new Callback() {
        @Override
        public void succeeded() {
            if (writeState.compareAndSet(1, 0)) {
                // The reading thread has not left onFillable yet: it goes on by itself.
                return;
            }
            writeState.set(0);
            onFillable();
        }

        @Override
        public void failed(Throwable failure) {
            Call call = current.get();
            if (call != null) {
                fail(call, failure);
            }
            writeState.set(0);
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }
    };

    @Override
    public boolean content(ByteBuffer content) {
        Call call = current.get();
        if (call == null) {
            return true;
        }
        handedOut = true;
        writeState.set(1);
        call.content(content, written);
        // Parsing stops here; onFillable decides, once out of the parser, whether to wait for the write.
        return true;
    }

    @Override
    public boolean contentComplete() {
        return false;
    }

    @Override
    public boolean messageComplete() {
        if (interim) {
            interim = false;
            interimDone = true;
        } else {
            complete = true;
        }
        return true;
    }

    @Override
    public void earlyEOF() {
        Call call = current.get();
        if (call != null) {
            fail(call, new EofException("the backend closed the connection before its response was complete"));
        }
    }

    @Override
    public void badMessage(HttpException failure) {
        Call call = current.get();
        if (call != null) {
            fail(call, new BadResponse("the backend's response is not valid HTTP: " + failure.getReason(), (Throwable) failure));
        }
    }
}
