package io.moosicbox.lb.proxy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * An HTTP/1.1 request head written straight into bytes, as Jetty's generator writes one: a known
 * header name in HTTP/1.1's spelling, a control character in a value as a space, a character beyond
 * Latin-1 as '?'. One pass per value, with no text copy in between: this runs on every request.
 */
final class RequestHead {
    private byte[] bytes;
    private int length;

    RequestHead(int capacity) {
        bytes = new byte[capacity];
    }

    /** The whole head, in an array of its exact size. */
    static ByteBuffer of(String method, String target, HttpFields fields) {
        int size = method.length() + target.length() + 12;
        for (HttpField field : fields) {
            String value = field.getValue();
            size += field.getName().length() + (value != null ? value.length() : 0) + 4;
        }
        RequestHead head = new RequestHead(size + 2).line(method, target);
        for (HttpField field : fields) {
            head.field(field);
        }
        return head.end();
    }

    RequestHead line(String method, String target) {
        text(method);
        ascii(' ');
        text(target);
        ascii(" HTTP/1.1\r\n");
        return this;
    }

    RequestHead field(HttpField field) {
        // An HTTP/2 client's names are all lower case, and a backend that compares them as written missed "user-agent".
        HttpHeader known = field.getHeader();
        text(known != null ? known.asString() : field.getName());
        ascii(": ");
        String value = field.getValue();
        if (value != null) {
            text(value);
        }
        ascii("\r\n");
        return this;
    }

    ByteBuffer end() {
        ascii("\r\n");
        return ByteBuffer.wrap(bytes, 0, length);
    }

    private void ascii(char c) {
        room(1);
        bytes[length++] = (byte) c;
    }

    private void ascii(String s) {
        int n = s.length();
        room(n);
        s.getBytes(0, n, bytes, length);
        length += n;
    }

    private void text(String s) {
        int n = s.length();
        room(n);
        byte[] b = bytes;
        int at = length;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            b[at++] = c >= 0x20 ? (c <= 0xFF ? (byte) c : (byte) '?') : (c == '\t' ? (byte) '\t' : (byte) ' ');
        }
        length = at;
    }

    private void room(int n) {
        if (length + n > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + n));
        }
    }
}
