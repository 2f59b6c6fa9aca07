package io.moosicbox.lb.server;

import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Callback;

/**
 * RFC 9110 10.1.1: an {@code Expect} in an HTTP/1.0 request is ignored, and such a client never
 * gets a {@code 100 Continue}, which it would take for the answer. Jetty's HTTP/1 parser marks the
 * request as expecting 100 whatever its version, and sends the 100 when the body is first waited
 * for; a customizer runs after that mark is set, so the 100 is dropped where it is written. The
 * header goes too, so that the backend is not asked to expect what the client never will.
 */
final class Http10ExpectIgnored implements HttpConfiguration.Customizer {
    @Override
    public Request customize(Request request, HttpFields.Mutable responseHeaders) {
        // The version is a field of the connection: an HTTP/1.1 or HTTP/2 request costs no header lookup.
        if (request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_0
                || !request.getHeaders().contains(HttpHeader.EXPECT)) {
            return request;
        }
        request.addHttpStreamWrapper(NoInterimResponses::new);
        HttpFields headers = HttpFields.build(request.getHeaders()).remove(HttpHeader.EXPECT).asImmutable();
        return new Request.Wrapper(request) {
            @Override
            public HttpFields getHeaders() {
                return headers;
            }
        };
    }

    private static final class NoInterimResponses extends HttpStream.Wrapper {
        NoInterimResponses(HttpStream wrapped) {
            super(wrapped);
        }

        @Override
        public void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback) {
            if (response != null && HttpStatus.isInformational(response.getStatus())) {
                callback.succeeded();
                return;
            }
            super.send(request, response, last, content, callback);
        }
    }
}
