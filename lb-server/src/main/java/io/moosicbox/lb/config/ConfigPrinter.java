package io.moosicbox.lb.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The effective configuration in the file's own YAML form, for {@code --check}; secrets masked. */
public final class ConfigPrinter {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    private ConfigPrinter() {}

    public static String toYaml(LbConfig c) {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> listeners = new LinkedHashMap<>();
        listeners.put("http", str(c.listeners().http()));
        listeners.put("https", str(c.listeners().https()));
        listeners.put("admin", str(c.listeners().admin()));
        root.put("listeners", listeners);
        Map<String, Object> tls = new LinkedHashMap<>();
        if (c.tls().enabled()) {
            List<Object> certs = new ArrayList<>();
            for (LbConfig.CertificatePair p : c.tls().certificates()) {
                Map<String, Object> pair = new LinkedHashMap<>();
                pair.put("cert", p.cert());
                pair.put("key", p.key());
                certs.add(pair);
            }
            tls.put("certificates", certs);
            tls.put("redirect_http", c.tls().redirectHttp());
            tls.put("redirect_port", c.tls().redirectPort() == 0 ? "(the TLS listener's)" : c.tls().redirectPort());
            tls.put("hsts_max_age", dur(c.tls().hstsMaxAge()));
            tls.put("reload_interval", dur(c.tls().reloadInterval()));
        }
        LbConfig.BackendTls upstream = c.tls().backends();
        Map<String, Object> backendTls = new LinkedHashMap<>();
        backendTls.put("ca_file", upstream.caFile() == null ? "(system trust store)" : upstream.caFile());
        backendTls.put("insecure_skip_verify", upstream.insecureSkipVerify());
        backendTls.put("http2", upstream.http2());
        tls.put("backends", backendTls);
        root.put("tls", tls);
        List<Object> clusters = new ArrayList<>();
        for (ClusterConfig cc : c.clusters()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", cc.name());
            m.put("hosts", cc.hosts());
            m.put("paths", cc.paths());
            m.put("algorithm", cc.algorithm());
            HealthCheckConfig hc = cc.healthCheck();
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("path", hc.path() == null ? "(TCP connect)" : hc.path());
            h.put("interval", dur(hc.interval()));
            h.put("timeout", dur(hc.timeout()));
            h.put("rise", hc.rise());
            h.put("fall", hc.fall());
            m.put("health_check", h);
            PoolSettings pool = cc.pool();
            m.put("retries", pool.retries());
            m.put("queue_size", pool.queueSize());
            m.put("queue_timeout", dur(pool.queueTimeout()));
            m.put("slow_start", dur(pool.slowStart()));
            m.put("hash_key", pool.hashKey());
            m.put("eject_after", pool.ejectAfter());
            m.put("eject_time", dur(pool.ejectTime()));
            m.put("eject_on_5xx", pool.ejectOn5xx());
            m.put("check_before_traffic", pool.checkBeforeTraffic());
            List<Object> backends = new ArrayList<>();
            for (BackendSpec b : cc.backends()) {
                Map<String, Object> bm = new LinkedHashMap<>();
                bm.put("url", b.url().toString());
                bm.put("weight", b.weight());
                bm.put("max_conns", b.maxConns());
                if (b.discovers()) {
                    bm.put("resolve", dur(b.resolve()));
                }
                backends.add(bm);
            }
            m.put("backends", backends);
            clusters.add(m);
        }
        root.put("clusters", clusters);
        Map<String, Object> timeouts = new LinkedHashMap<>();
        timeouts.put("connect", dur(c.timeouts().connect()));
        timeouts.put("idle", dur(c.timeouts().idle()));
        timeouts.put("response_headers", dur(c.timeouts().responseHeaders()));
        root.put("timeouts", timeouts);
        Map<String, Object> shutdown = new LinkedHashMap<>();
        shutdown.put("timeout", dur(c.shutdown().timeout()));
        shutdown.put("delay", dur(c.shutdown().delay()));
        root.put("shutdown", shutdown);
        Map<String, Object> websocket = new LinkedHashMap<>();
        websocket.put("idle_timeout", dur(c.websocket().idleTimeout()));
        websocket.put("drain_grace", dur(c.websocket().drainGrace()));
        root.put("websocket", websocket);
        root.put("admin", Map.of("token", c.admin().token() == null ? "(none: changes from loopback only)" : "(set)"));
        root.put("log_level", c.logLevel());
        root.put("access_log", Map.of("target", c.accessLog().enabled() ? c.accessLog().target() : "off", "format", c.accessLog().format()));
        try {
            return YAML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String str(Object o) {
        return o == null ? "(off)" : o.toString();
    }

    private static String dur(Duration d) {
        return Durations.format(d);
    }
}
