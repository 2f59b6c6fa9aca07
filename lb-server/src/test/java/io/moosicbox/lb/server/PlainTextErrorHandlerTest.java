package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.eclipse.jetty.http.BadMessageException;
import org.junit.jupiter.api.Test;

/** The text of the answers Jetty makes itself; the handler is Jetty's, only its words are the balancer's. */
class PlainTextErrorHandlerTest {
    private static String written(int code, String message, Throwable cause) {
        StringWriter out = new StringWriter();
        try (PrintWriter writer = new PrintWriter(out)) {
            new PlainTextErrorHandler().writeErrorPlain(null, writer, code, message, cause);
        }
        return out.toString();
    }

    /** An exception of the balancer's own (a bug) is a 500 that says no more: its text is for the log. */
    @Test
    void anInternalFailureIsNamedOnlyByItsStatus() {
        IllegalArgumentException bug = new IllegalArgumentException("Bad Quotes in Token: for=\"1.1.1.1");
        assertEquals("500 Server Error\n", written(500, bug.toString(), bug));
    }

    /** A refusal that is an HTTP error says why, as before. */
    @Test
    void anHttpErrorKeepsItsReason() {
        assertEquals("400 Invalid Host\n", written(400, "Invalid Host", new BadMessageException("Invalid Host")));
        assertEquals("431 Request Header Fields Too Large\n", written(431, null, null));
    }
}
