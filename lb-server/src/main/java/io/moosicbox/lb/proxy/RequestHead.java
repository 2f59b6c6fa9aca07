package io.moosicbox.lb.proxy;

import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * An HTTP/1.1 request head written straight into an array of its exact size, as Jetty's generator
 * writes one: a known header name in HTTP/1.1's spelling, a control character in a value as a
 * space, a character beyond Latin-1 as '?'. One pass per value, with no text copy in between: this
 * runs on every request.
 */
final class RequestHead {
    private final byte[] bytes;
    private int length;

    private RequestHead(int size) {
        bytes = new byte[size];
    }

    static ByteBuffer of(String method, String target, HttpFields fields) {
        int size = method.length() + 1 + target.length() + " HTTP/1.1\r\n".length() + 2;
        for (HttpField field : fields) {
            String value = field.getValue();
            size += name(field).length() + 2 + (value != null ? value.length() : 0) + 2;
        }
        RequestHead head = new RequestHead(size);
        head.text(method);
        head.ascii(" ");
        head.text(target);
        head.ascii(" HTTP/1.1\r\n");
        for (HttpField field : fields) {
            head.text(name(field));
            head.ascii(": ");
            String value = field.getValue();
            if (value != null) {
                head.text(value);
            }
            head.ascii("\r\n");
        }
        head.ascii("\r\n");
        return ByteBuffer.wrap(head.bytes);
    }

    /** An HTTP/2 client's names are all lower case, and a backend that compares them as written missed "user-agent". */
    private static String name(HttpField field) {
        HttpHeader known = field.getHeader();
        return known != null ? known.asString() : field.getName();
    }

    private void ascii(String s) {
        s.getBytes(0, s.length(), bytes, length);
        length += s.length();
    }

    private void text(String s) {
        byte[] b = bytes;
        int at = length;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b[at++] = c >= 0x20 ? (c <= 0xFF ? (byte) c : (byte) '?') : (c == '\t' ? (byte) '\t' : (byte) ' ');
        }
        length = at;
    }
}
