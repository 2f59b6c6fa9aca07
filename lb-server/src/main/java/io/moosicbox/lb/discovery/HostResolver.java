package io.moosicbox.lb.discovery;

import java.io.IOException;
import java.net.InetAddress;
import java.security.Security;
import java.util.Arrays;
import java.util.List;

/** Looks a host name up: every address it has now. Tests give their own. */
@FunctionalInterface
public interface HostResolver {

    /** @throws IOException when the name cannot be resolved now (the last answer then stays) */
    List<InetAddress> resolve(String host) throws IOException;

    /** The system's resolver (/etc/hosts, then DNS), as the JVM looks names up. */
    static HostResolver system() {
        return SystemResolver.INSTANCE;
    }

    final class SystemResolver implements HostResolver {
        static final SystemResolver INSTANCE = new SystemResolver();

        static {
            // The JVM keeps answers 30 s by default: a re-resolve interval shorter than that would
            // only see stale addresses. A user who set the property keeps their value.
            // -Dsun.net.inetaddr.ttl is the same setting as a system property; the JVM prefers the security one.
            if (Security.getProperty("networkaddress.cache.ttl") == null && System.getProperty("sun.net.inetaddr.ttl") == null) {
                Security.setProperty("networkaddress.cache.ttl", "1");
            }
        }

        private SystemResolver() {}

        @Override
        public List<InetAddress> resolve(String host) throws IOException {
            return Arrays.asList(InetAddress.getAllByName(host));
        }
    }
}
