package io.moosicbox.lb.proxy;

import java.util.concurrent.ThreadLocalRandom;
import org.eclipse.jetty.server.Request;

/**
 * The {@code X-Request-Id} that ties a request's access log line to the backend's own logs. A
 * request that arrives with one keeps it (an ingress or a client that already tagged it, as
 * nginx-ingress keeps it); any other gets a new one. Not a secret and not a proof of anything: a
 * client can choose its own, so only the characters that IDs are made of are kept, and a line of
 * the access log stays one line.
 */
public final class RequestId {
    public static final String HEADER = "X-Request-Id";
    static final int MAX_LENGTH = 128;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestId() {}

    /** The request's own id when it sent a usable one, else a new one. */
    public static String of(Request request) {
        String sent = request.getHeaders().get(HEADER);
        return isValid(sent) ? sent : generate();
    }

    /** 1 to 128 of the characters UUIDs, hex, base64 and dotted ids use. */
    static boolean isValid(String id) {
        if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '=';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** 128 random bits as 32 hex digits. Not from SecureRandom: an id is unique, not unguessable. */
    static String generate() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        char[] id = new char[32];
        hex(random.nextLong(), id, 0);
        hex(random.nextLong(), id, 16);
        return new String(id);
    }

    private static void hex(long bits, char[] to, int at) {
        for (int i = 15; i >= 0; i--) {
            to[at + i] = HEX[(int) (bits & 0xf)];
            bits >>>= 4;
        }
    }
}
