package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The start's "proxy listening on ..." line writes each address as the settings do. */
class ListenerLogTest {
    @Test
    void anIpv6ListenerIsWrittenInBrackets() {
        // It was "::1:8080", which reads as a host of "::1:8080" or a port of 1:8080.
        assertEquals("[::1]:8080", LoadBalancer.describe("::1", 8080));
        assertEquals("[::]:80", LoadBalancer.describe("::", 80));
        assertEquals("127.0.0.1:9090", LoadBalancer.describe("127.0.0.1", 9090));
        assertEquals("0.0.0.0:80", LoadBalancer.describe(null, 80));
    }
}
