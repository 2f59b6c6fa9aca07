package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moosicbox.lb.config.PoolSettings;
import io.moosicbox.lb.pool.TestBackend;
import io.moosicbox.lb.pool.TestBalancer;
import io.moosicbox.lb.server.LoadBalancer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;

/** How a proxied response ends on an HTTP/2 client's stream, frame by frame. */
class ResponseEndTest {
    /**
     * A body whose length the backend announced ends with its last bytes: one DATA frame that
     * carries END_STREAM, not the bytes and then an empty frame in a write of its own.
     */
    @Test
    void aBodyOfKnownLengthEndsTheStreamWithItsLastBytes() throws Exception {
        try (TestBackend backend = TestBackend.start("backend-a")) {
            LoadBalancer lb = TestBalancer.start(Duration.ofSeconds(5),
                    TestBalancer.cluster("round_robin", PoolSettings.defaults(), backend.url()));
            HTTP2Client client = new HTTP2Client();
            client.start();
            try {
                assertEquals(List.of("HEADERS", "DATA 9 END_STREAM"), frames(client, lb.proxyPort(), "GET", "/"));
                // Without a body the headers end the stream, as before.
                assertEquals(List.of("HEADERS END_STREAM"), frames(client, lb.proxyPort(), "HEAD", "/"));
            } finally {
                client.stop();
                lb.stop();
            }
        }
    }

    private static List<String> frames(HTTP2Client client, int port, String method, String path) throws Exception {
        Session session = client.connect(new InetSocketAddress("127.0.0.1", port), new Session.Listener() {})
                .get(5, TimeUnit.SECONDS);
        List<String> frames = new CopyOnWriteArrayList<>();
        CountDownLatch ended = new CountDownLatch(1);
        MetaData.Request request = new MetaData.Request(method, HttpURI.from("http://127.0.0.1:" + port + path),
                HttpVersion.HTTP_2, HttpFields.EMPTY);
        session.newStream(new HeadersFrame(request, null, true), new Stream.Listener() {
            @Override
            public void onHeaders(Stream stream, HeadersFrame frame) {
                frames.add("HEADERS" + (frame.isEndStream() ? " END_STREAM" : ""));
                if (frame.isEndStream()) {
                    ended.countDown();
                } else {
                    stream.demand();
                }
            }

            @Override
            public void onDataAvailable(Stream stream) {
                Stream.Data data = stream.readData();
                if (data == null) {
                    stream.demand();
                    return;
                }
                boolean end = data.frame().isEndStream();
                frames.add("DATA " + data.frame().remaining() + (end ? " END_STREAM" : ""));
                data.release();
                if (end) {
                    ended.countDown();
                } else {
                    stream.demand();
                }
            }
        }).get(5, TimeUnit.SECONDS);
        assertTrue(ended.await(5, TimeUnit.SECONDS), "the stream did not end: " + frames);
        session.close(0, "done", Callback.NOOP);
        return frames;
    }
}
