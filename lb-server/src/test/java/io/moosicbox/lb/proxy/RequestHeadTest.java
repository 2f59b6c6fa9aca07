package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.junit.jupiter.api.Test;

class RequestHeadTest {
    private static byte[] bytes(ByteBuffer buffer) {
        // The array must hold the head and nothing more: the whole buffer is written to the backend.
        assertEquals(buffer.capacity(), buffer.remaining());
        byte[] b = new byte[buffer.remaining()];
        buffer.get(b);
        return b;
    }

    @Test
    void valuesAreWrittenAsJettysGeneratorWritesThem() {
        // Latin-1 stays one byte, a control character but tab becomes a space, beyond Latin-1 a '?';
        // a known name in HTTP/1.1's spelling (an HTTP/2 client sent it in lower case), others as they came.
        HttpFields fields = HttpFields.build()
                .add(new HttpField(HttpHeader.USER_AGENT, "user-agent", "t\u00e9st\tx\u0001y\u20acz"))
                .add(new HttpField("x-Own", "v"));
        byte[] expected = "GET /a?b=1 HTTP/1.1\r\nUser-Agent: t\u00e9st\tx y?z\r\nx-Own: v\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        assertArrayEquals(expected, bytes(RequestHead.of("GET", "/a?b=1", fields)));
    }

    @Test
    void aWholeHeadFillsItsArrayExactly() {
        HttpFields fields = HttpFields.build().add(HttpHeader.HOST, "example.com").add("X-Empty", "").add(HttpHeader.ACCEPT, "*/*");
        assertArrayEquals("HEAD /x HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\nAccept: */*\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1),
                bytes(RequestHead.of("HEAD", "/x", fields)));
    }

    @Test
    void largeHeadsAreWrittenWhole() {
        String big = "v".repeat(10_000);
        HttpFields.Mutable fields = HttpFields.build();
        StringBuilder expected = new StringBuilder("GET / HTTP/1.1\r\n");
        for (int i = 0; i < 5; i++) {
            fields.add("X-Big-" + i, big);
            expected.append("X-Big-").append(i).append(": ").append(big).append("\r\n");
        }
        expected.append("\r\n");
        assertArrayEquals(expected.toString().getBytes(StandardCharsets.ISO_8859_1), bytes(RequestHead.of("GET", "/", fields)));
    }
}
