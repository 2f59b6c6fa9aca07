package io.moosicbox.lb.websocket;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A WebSocket backend written by hand on a socket, for what a Jetty server would not send: it
 * records each handshake request as it came and answers it with a 101 carrying the given extra
 * header lines and the given bytes, then keeps the connection open, silent, until it is closed,
 * or drops it without a close frame as soon as the balancer sends anything.
 */
final class RawHandshakeBackend implements AutoCloseable {
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /** Each handshake request's head, as received. */
    final BlockingQueue<String> requests = new LinkedBlockingQueue<>();
    /** How long each 101 waits after its request arrived. */
    volatile long answerDelayMillis;
    private final ServerSocket server;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();

    /** @param extraHeaders header lines, each ending with CRLF, added to every 101 */
    RawHandshakeBackend(String extraHeaders) throws IOException {
        this(extraHeaders, new byte[0]);
    }

    /**
     * @param extraHeaders header lines, each ending with CRLF, added to every 101
     * @param frames       bytes sent right after the 101, such as frames no WebSocket server may send
     */
    RawHandshakeBackend(String extraHeaders, byte[] frames) throws IOException {
        this(extraHeaders, frames, false);
    }

    /**
     * @param extraHeaders header lines, each ending with CRLF, added to every 101
     * @param frames       bytes sent right after the 101
     * @param dropOnInput  whether to close the connection, without a close frame, on the first byte
     *                     the balancer sends after the handshake (such as its close frame)
     */
    RawHandshakeBackend(String extraHeaders, byte[] frames, boolean dropOnInput) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.add(s);
                    Thread.ofVirtual().start(() -> answer(s, extraHeaders, frames, dropOnInput));
                } catch (IOException closed) {
                    return;
                }
            }
        });
    }

    String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void answer(Socket s, String extraHeaders, byte[] frames, boolean dropOnInput) {
        try {
            String head = readHead(s.getInputStream());
            requests.add(head);
            if (answerDelayMillis > 0) {
                Thread.sleep(answerDelayMillis);
            }
            String key = null;
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("sec-websocket-key:")) {
                    key = line.substring(line.indexOf(':') + 1).trim();
                }
            }
            s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Accept: " + accept(key) + "\r\n" + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(frames);
            s.getOutputStream().flush();
            if (dropOnInput) {
                s.getInputStream().read();
                s.close();
                return;
            }
            s.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException | InterruptedException closed) {
            // The test is over with this connection.
        }
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection closed in the request head");
            }
            head.append((char) b);
        }
        return head.toString();
    }

    private static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : accepted) {
            s.close();
        }
    }
}
