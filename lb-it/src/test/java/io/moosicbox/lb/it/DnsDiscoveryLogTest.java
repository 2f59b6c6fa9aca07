package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A name that does not resolve (a headless Service with no pod yet, such as the ACME solver's
 * between challenges) is logged once when the lookups start failing and once when it resolves
 * again, not at every lookup. The name resolves through a hosts file of the JVM's own.
 */
class DnsDiscoveryLogTest {

    @Test
    void aNameThatDoesNotResolveIsLoggedOnceAndAgainWhenItResolves(@TempDir Path dir) throws Exception {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 localhost\n");
        String javaOpts = "-Xmx256m -Djdk.net.hosts.file=" + hosts + " -Dsun.net.inetaddr.ttl=0 -Dsun.net.inetaddr.negative.ttl=0";
        try (TestBackend backend = new TestBackend("live")) {
            Map<String, String> env = Map.of("BACKEND_SERVERS",
                    "http://pods.lbtest:" + backend.port() + " resolve=1s,http://127.0.0.1:" + backend.port(), "JAVA_OPTS", javaOpts);
            try (LbProcess lb = LbProcess.start(env)) {
                Thread.sleep(4_500);   // four or five failed lookups at 1 s
                assertEquals(1, count(lb, "cannot resolve pods.lbtest"), lb.stderr());
                Files.writeString(hosts, "127.0.0.1 localhost\n127.0.0.1 pods.lbtest\n");
                Await.until("the name resolves again", () -> count(lb, "pods.lbtest resolves again") == 1);
                assertEquals(1, count(lb, "cannot resolve pods.lbtest"), lb.stderr());
            }
        }
    }

    private static int count(LbProcess lb, String line) {
        try {
            return (lb.stderr() + lb.stdout()).split(Pattern.quote(line), -1).length - 1;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
