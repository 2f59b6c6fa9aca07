package io.moosicbox.lb.server;

import io.moosicbox.lb.config.ListenerLimits;
import io.moosicbox.lb.proxy.ClientAddress;
import io.moosicbox.lb.proxy.HeaderLists;
import java.util.List;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.DoSHandler;
import org.eclipse.jetty.server.handler.SizeLimitHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.InetAddressSet;

/**
 * What the proxy listener refuses before a request reaches a backend, built from Jetty's own
 * parser compliance, size limits, connection limit and rate limiter.
 */
final class ListenerHardening {
    static final int MAX_HEADER_BYTES = 64 * 1024;
    static final int MAX_URI_BYTES = 8 * 1024;
    static final int MAX_HEADER_COUNT = 100;

    private ListenerHardening() {}

    /**
     * Strict RFC 9110 parsing: Content-Length with Transfer-Encoding, several Content-Lengths,
     * unknown codings, bare LF and spaces in field names are answered 400 and the connection is
     * closed, so that no second request can be smuggled behind the first.
     */
    static void configure(HttpConfiguration http) {
        // RFC 9112 lets a recipient accept a bare LF; a proxy must not, since the backend may read it otherwise.
        http.setHttpCompliance(HttpCompliance.RFC9110.without("RFC9110_NO_BARE_LF", HttpCompliance.Violation.LF_HEADER_TERMINATION));
        http.setRequestHeaderSize(MAX_HEADER_BYTES);
    }

    /** One cap shared by the client listeners (plain and TLS); the admin listener is never limited. */
    static void limitConnections(Server server, ListenerLimits limits, Connector... connectors) {
        server.addBean(new NetworkConnectionLimit(limits.maxConnections(), connectors));
    }

    /**
     * For {@link Handler.Singleton#insertHandler}: URI and header-count limits, then rate and body
     * limits; their refusals go through {@code refusals}, to be reported.
     */
    static Handler.Singleton handler(ListenerLimits limits, Refusals refusals) {
        Handler.Singleton first = new RequestShape(refusals);
        Handler.Singleton last = first;
        if (limits.ratePerIp() > 0) {
            // Behind a trusted proxy, per client: not one bucket for every client of the ingress.
            InetAddressSet trusted = limits.trustedProxySet();
            Handler.Singleton dos = new DoSHandler(null, request -> ClientAddress.of(request, trusted),
                    // Jetty's bucket refuses the request that fills it: one more place than the burst.
                    new DoSHandler.LeakingBucketTrackerFactory(limits.ratePerIp(), limits.rateBurst() + 1, null),
                    (request, response, callback) -> refusals.refuse(request, response, callback,
                            HttpStatus.TOO_MANY_REQUESTS_429, null),
                    100_000);
            last.setHandler(dos);
            last = dos;
        }
        if (limits.maxBodyBytes() > 0) {
            Handler.Singleton size = new BodySizeLimit(limits.maxBodyBytes(), refusals);
            last.setHandler(size);
            last = size;
        }
        return first;
    }

    /** 414 for a URI over {@link #MAX_URI_BYTES}, 501 for a coding other than chunked, 431 for more than {@link #MAX_HEADER_COUNT} fields. */
    private static final class RequestShape extends Handler.Wrapper {
        private final Refusals refusals;

        RequestShape(Refusals refusals) {
            this.refusals = refusals;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            HttpURI uri = request.getHttpURI();
            String path = uri.getPath();
            String query = uri.getQuery();
            // An HTTP/2 CONNECT has no :path; it is answered 501 by the proxy.
            if ((path == null ? 0 : path.length()) + (query == null ? 0 : query.length() + 1) > MAX_URI_BYTES) {
                return refusals.refuse(request, response, callback, HttpStatus.URI_TOO_LONG_414, null);
            }
            if (request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)
                    && request.getConnectionMetaData().getHttpVersion() == HttpVersion.HTTP_1_0) {
                // RFC 9112 6.1: an HTTP/1.0 message's framing is faulty with a Transfer-Encoding (a proxy in
                // front may have read its body by length), and the connection is closed after it.
                response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
                return refusals.refuse(request, response, callback, HttpStatus.BAD_REQUEST_400,
                        "Transfer-Encoding in an HTTP/1.0 request");
            }
            if (request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING) && !onlyChunked(request)) {
                // The body is re-framed as chunked for the backend: any other coding would be dropped on the way (RFC 9112 6.1).
                return refusals.refuse(request, response, callback, HttpStatus.NOT_IMPLEMENTED_501,
                        "Transfer-Encoding other than chunked");
            }
            if (request.getHeaders().size() > MAX_HEADER_COUNT) {
                return refusals.refuse(request, response, callback, HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431,
                        "more than " + MAX_HEADER_COUNT + " header fields");
            }
            return super.handle(request, response, callback);
        }

        private static boolean onlyChunked(Request request) {
            List<String> codings = HeaderLists.of(request.getHeaders(), HttpHeader.TRANSFER_ENCODING);
            return codings.size() == 1 && "chunked".equalsIgnoreCase(codings.get(0));
        }
    }

    /**
     * Jetty's body limit, with a declared Content-Length over it refused here, where it can be
     * reported; Jetty's own check then never fires, and it still cuts a body that runs over.
     * The declared length is a field of the parsed request: no header lookup is added.
     */
    private static final class BodySizeLimit extends SizeLimitHandler {
        private final long limit;
        private final Refusals refusals;

        BodySizeLimit(long limit, Refusals refusals) {
            super(limit, -1);
            this.limit = limit;
            this.refusals = refusals;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            long declared = request.getLength();
            if (declared > limit) {
                return refusals.refuse(request, response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413,
                        "Request body is too large: " + declared + ">" + limit);
            }
            return super.handle(request, response, callback);
        }
    }
}
