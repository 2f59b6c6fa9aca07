package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.eclipse.jetty.util.InetAddressSet;
import org.junit.jupiter.api.Test;

/** Reading a client from a forwarding chain; the balancer's use of it is in server.ClientAddressTest. */
class ClientAddressChainTest {
    @Test
    void theClientIsTheRightmostAddressThatIsNotATrustedProxy() {
        InetAddressSet trusted = new InetAddressSet();
        trusted.add("10.0.0.0/8");
        trusted.add("2001:db8::/32");
        // The left entries are the client's own words; the entry a trusted proxy appended is the last untrusted one.
        assertEquals("203.0.113.7", ClientAddress.fromChain(List.of("6.6.6.6", "203.0.113.7", "10.1.2.3"), trusted));
        assertEquals("203.0.113.7", ClientAddress.fromChain(List.of("203.0.113.7:51234", "10.1.2.3"), trusted));
        assertEquals("2001:db9::1", ClientAddress.fromChain(List.of("[2001:db9::1]:443", "2001:db8::5"), trusted));
        assertEquals("10.0.0.1", ClientAddress.fromChain(List.of("10.0.0.1", "10.0.0.2"), trusted), "all trusted: the first");
        // Not an address (and not looked up in the DNS as a name either): the walk ends at the trusted hop to its right.
        assertEquals("10.0.0.2", ClientAddress.fromChain(List.of("unknown", "10.0.0.2"), trusted));
        assertEquals("10.0.0.2", ClientAddress.fromChain(List.of("203.0.113.7", "999.1.1.1", "10.0.0.2"), trusted));
        assertEquals("10.0.0.2", ClientAddress.fromChain(List.of("1.2.3.4 \" - - [evil", "10.0.0.2"), trusted));
        assertNull(ClientAddress.fromChain(List.of("unknown"), trusted), "nothing trusted to its right: the caller takes the peer");
        assertNull(ClientAddress.fromChain(List.of(), trusted));
    }
}
