package io.moosicbox.lb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Durations and addresses as users write them. */
class ValuesTest {

    @Test
    void durationsParseAndFormatBack() {
        assertEquals(Duration.ofMillis(250), Durations.parse("250ms"));
        assertEquals(Duration.ofSeconds(5), Durations.parse(" 5s "));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ZERO, Durations.parse("0"));
        for (String s : new String[] {"250ms", "5s", "2m", "1h", "0", "1500ms"}) {
            assertEquals(s, Durations.format(Durations.parse(s)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "5", "5 s", "-1s", "1.5s", "5sec", "s", "99999999999s"})
    void badDurationsAreRefused(String s) {
        assertThrows(IllegalArgumentException.class, () -> Durations.parse(s));
    }

    @Test
    void hostPortsParseIpv4NamesAndBracketedIpv6() {
        assertEquals(new HostPort("0.0.0.0", 80), HostPort.parse("0.0.0.0:80"));
        assertEquals(new HostPort("lb.local", 8080), HostPort.parse("lb.local:8080"));
        assertEquals(new HostPort("::1", 9090), HostPort.parse("[::1]:9090"));
        assertEquals("[::1]:9090", HostPort.parse("[::1]:9090").toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "80", ":80", "host:", "host:http", "host:70000", "::1:80"})
    void badHostPortsAreRefused(String s) {
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse(s));
    }
}
