package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/kubernetes/ parsed as Kubernetes would read it, and checked for what makes a rollout
 * safe: the probes hit the admin listener the configuration opens, the grace period outlasts the
 * graceful stop, the Services and the PodDisruptionBudget select the Deployment's pods, the
 * configuration's DNS backends are the headless Services, the certificate lands where the
 * configuration reads it. A rename in one file that the others do not follow fails here.
 */
class KubernetesManifestsTest {
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Path DIR = Path.of(System.getProperty("lb.deploy.dir"), "kubernetes");
    private static final Map<String, JsonNode> byKindAndName = new HashMap<>();
    private static final List<String> files = new ArrayList<>();
    private static JsonNode kustomization;

    @BeforeAll
    static void parseEveryManifest() throws IOException {
        try (Stream<Path> list = Files.list(DIR)) {
            for (Path file : list.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                JsonNode doc = YAML.readTree(file.toFile());
                String kind = text(doc, "kind");
                if (kind.equals("Kustomization")) {
                    kustomization = doc;
                    continue;
                }
                files.add(file.getFileName().toString());
                assertFalse(text(doc, "apiVersion").isEmpty(), file + ": apiVersion");
                String name = text(doc.path("metadata"), "name");
                assertFalse(name.isEmpty(), file + ": metadata.name");
                assertEquals("moosicbox", kind.equals("Namespace") ? name : text(doc.path("metadata"), "namespace"),
                        file + ": every object lives in the moosicbox namespace");
                assertTrue(byKindAndName.put(kind + "/" + name, doc) == null, file + ": a second " + kind + "/" + name);
            }
        }
    }

    @Test
    void kustomizationListsEveryManifest() {
        assertEquals("moosicbox", text(kustomization, "namespace"));
        Set<String> listed = new TreeSet<>();
        kustomization.path("resources").forEach(r -> listed.add(r.asText()));
        assertEquals(new TreeSet<>(files), listed);
    }

    @Test
    void theConfigMapsFileIsValidForTheBalancer(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("lb.yaml");
        Files.writeString(file, get("ConfigMap/moosicbox-lb-config").path("data").path("lb.yaml").asText());
        Path launcher = Path.of(System.getProperty("lb.dist.dir"), "bin", "moosicbox_lb");
        Process check = new ProcessBuilder(launcher.toString(), "--check", "--config", file.toString())
                .redirectErrorStream(true).start();
        String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(check.waitFor(60, TimeUnit.SECONDS), "--check did not finish");
        assertEquals(0, check.exitValue(), "moosicbox_lb --check of configmap.yaml's lb.yaml:\n" + output);
    }

    @Test
    void theReadmeShowsTheConfigMapsFileAsItIs() throws IOException {
        String readme = Files.readString(DIR.getParent().getParent().resolve("README.md"));
        int section = readme.indexOf("### Example: MoosicBox on Kubernetes");
        assertTrue(section >= 0, "the README's Kubernetes example is gone");
        int start = readme.indexOf("```yaml\n", section) + "```yaml\n".length();
        String shown = readme.substring(start, readme.indexOf("```", start));
        assertEquals(get("ConfigMap/moosicbox-lb-config").path("data").path("lb.yaml").asText(), shown,
                "README's example and configmap.yaml's lb.yaml must not drift apart");
    }

    @Test
    void deploymentRunsTwoNonRootReplicasWithProbesOnTheAdminListener() throws IOException {
        JsonNode deployment = get("Deployment/moosicbox-lb");
        JsonNode spec = deployment.path("spec");
        assertEquals(2, spec.path("replicas").asInt());
        assertEquals(0, spec.path("strategy").path("rollingUpdate").path("maxUnavailable").asInt(-1));
        JsonNode pod = spec.path("template").path("spec");
        assertSelects(spec.path("selector").path("matchLabels"), podLabels());

        JsonNode container = single(pod.path("containers"));
        Map<String, Integer> ports = containerPorts(container);
        assertEquals(Map.of("http", 80, "https", 443, "admin", 9090), ports);
        HostPortText admin = HostPortText.parse(lbConfig().path("listeners").path("admin").asText());
        assertEquals(ports.get("admin"), admin.port(), "the admin port named in the Deployment is the one lb.yaml opens");
        assertEquals("0.0.0.0", admin.host(), "probes come from the kubelet, not from loopback");
        assertEquals(ports.get("http"), HostPortText.parse(lbConfig().path("listeners").path("http").asText()).port());
        assertEquals(ports.get("https"), HostPortText.parse(lbConfig().path("listeners").path("https").asText()).port());

        assertProbe(container.path("readinessProbe"), "/ready", ports);
        assertProbe(container.path("livenessProbe"), "/health", ports);
        assertProbe(container.path("startupProbe"), "/health", ports);

        JsonNode shutdown = lbConfig().path("shutdown");
        long delay = seconds(shutdown.path("delay").asText("0"));
        long timeout = seconds(shutdown.path("timeout").asText());
        assertTrue(delay > 0, "shutdown.delay lets endpoints drop the pod before the listeners close");
        assertTrue(pod.path("terminationGracePeriodSeconds").asLong() > delay + timeout,
                "terminationGracePeriodSeconds must exceed shutdown.delay + shutdown.timeout (" + (delay + timeout) + " s)");

        JsonNode requests = container.path("resources").path("requests");
        assertFalse(requests.path("cpu").asText().isEmpty(), "cpu request");
        assertFalse(requests.path("memory").asText().isEmpty(), "memory request");
        assertFalse(container.path("resources").path("limits").path("memory").asText().isEmpty(), "memory limit");

        JsonNode podSecurity = pod.path("securityContext");
        assertTrue(podSecurity.path("runAsNonRoot").asBoolean());
        assertNotEquals(0, podSecurity.path("runAsUser").asInt(0));
        boolean lowPortsAllowed = false;
        for (JsonNode sysctl : podSecurity.path("sysctls")) {
            lowPortsAllowed |= text(sysctl, "name").equals("net.ipv4.ip_unprivileged_port_start")
                    && Integer.parseInt(text(sysctl, "value")) <= 80;
        }
        assertTrue(lowPortsAllowed, "a non-root process binds 80 and 443 only with ip_unprivileged_port_start <= 80");
        JsonNode security = container.path("securityContext");
        assertFalse(security.path("allowPrivilegeEscalation").asBoolean(true));
        assertTrue(security.path("readOnlyRootFilesystem").asBoolean());
        assertEquals("ALL", security.path("capabilities").path("drop").path(0).asText());
    }

    @Test
    void deploymentMountsTheConfigMapAndTheCertificateWhereTheConfigurationReadsThem() throws IOException {
        JsonNode pod = get("Deployment/moosicbox-lb").path("spec").path("template").path("spec");
        JsonNode container = single(pod.path("containers"));
        Map<String, String> mounts = new HashMap<>();
        container.path("volumeMounts").forEach(m -> mounts.put(text(m, "name"), text(m, "mountPath")));
        Map<String, JsonNode> volumes = new HashMap<>();
        pod.path("volumes").forEach(v -> volumes.put(text(v, "name"), v));
        assertEquals(volumes.keySet(), mounts.keySet(), "every volume mounted, every mount a volume");
        assertTrue(mounts.containsValue("/tmp"), "a writable /tmp on a read-only root file system");

        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        int config = args.indexOf("--config");
        assertTrue(config >= 0 && config + 1 < args.size(), "args: --config FILE");
        Path configFile = Path.of(args.get(config + 1));
        String configVolume = volumeMountedAt(mounts, configFile.getParent());
        String configMap = text(volumes.get(configVolume).path("configMap"), "name");
        assertTrue(get("ConfigMap/" + configMap).path("data").has(configFile.getFileName().toString()),
                "the ConfigMap holds " + configFile.getFileName());

        // A ConfigMap change is applied by each pod itself (the folder is mounted whole, so the file
        // follows it), not by a rollout restart that closes every WebSocket session.
        Map<String, String> env = new HashMap<>();
        container.path("env").forEach(e -> env.put(text(e, "name"), e.path("value").asText(null)));
        assertEquals("true", env.get("LB_CONFIG_WATCH"), "env: " + env);
        assertFalse(container.path("volumeMounts").toString().contains("subPath"), "a subPath mount is never refreshed");

        String secret = text(get("Certificate/moosicbox-lb").path("spec"), "secretName");
        assertFalse(lbConfig().path("tls").path("certificates").isEmpty(), "lb.yaml names the certificate files");
        for (JsonNode certificate : lbConfig().path("tls").path("certificates")) {
            Path cert = Path.of(text(certificate, "cert"));
            Path key = Path.of(text(certificate, "key"));
            String tlsVolume = volumeMountedAt(mounts, cert.getParent());
            assertEquals(tlsVolume, volumeMountedAt(mounts, key.getParent()));
            assertEquals(secret, text(volumes.get(tlsVolume).path("secret"), "secretName"),
                    "the TLS files come from the Certificate's Secret");
            assertEquals("tls.crt", cert.getFileName().toString(), "cert-manager's file name for the chain");
            assertEquals("tls.key", key.getFileName().toString(), "cert-manager's file name for the key");
        }
    }

    @Test
    void servicesAndDisruptionBudgetSelectTheBalancerPods() throws IOException {
        JsonNode pod = get("Deployment/moosicbox-lb").path("spec").path("template").path("spec");
        Map<String, Integer> ports = containerPorts(single(pod.path("containers")));

        JsonNode service = get("Service/moosicbox-lb").path("spec");
        assertSelects(service.path("selector"), podLabels());
        Map<Integer, String> servicePorts = new HashMap<>();
        service.path("ports").forEach(p -> servicePorts.put(p.path("port").asInt(), text(p, "targetPort")));
        assertEquals(Map.of(80, "http", 443, "https"), servicePorts);
        assertEquals("Local", text(service, "externalTrafficPolicy"), "keeps the client's address");

        JsonNode admin = get("Service/moosicbox-lb-admin").path("spec");
        assertSelects(admin.path("selector"), podLabels());
        assertEquals("ClusterIP", text(admin, "type"), "the admin listener is not published outside the cluster");
        assertTrue(ports.containsKey(text(admin.path("ports").path(0), "targetPort")));

        JsonNode budget = get("PodDisruptionBudget/moosicbox-lb").path("spec");
        assertSelects(budget.path("selector").path("matchLabels"), podLabels());
        int replicas = get("Deployment/moosicbox-lb").path("spec").path("replicas").asInt();
        int minAvailable = budget.path("minAvailable").asInt();
        assertTrue(minAvailable >= 1 && minAvailable < replicas, "one replica stays, and a node drain can still proceed");
    }

    @Test
    void dnsBackendsAreHeadlessServices() throws IOException {
        Map<String, JsonNode> clusters = new HashMap<>();
        lbConfig().path("clusters").forEach(c -> clusters.put(text(c, "name"), c));
        assertTrue(clusters.containsKey("default") && clusters.containsKey("solver"), "clusters: " + clusters.keySet());
        assertEquals("/.well-known/acme-challenge/", clusters.get("solver").path("paths").path(0).asText());

        for (JsonNode cluster : clusters.values()) {
            for (JsonNode backend : cluster.path("backends")) {
                URI url = URI.create(text(backend, "url"));
                assertFalse(text(backend, "resolve").isEmpty(), url + ": a DNS name of pods is re-resolved");
                Matcher m = Pattern.compile("([a-z0-9-]+)\\.([a-z0-9-]+)\\.svc\\.cluster\\.local").matcher(url.getHost());
                assertTrue(m.matches(), url + ": a Service's cluster DNS name");
                assertEquals("moosicbox", m.group(2));
                JsonNode service = get("Service/" + m.group(1)).path("spec");
                assertEquals("None", text(service, "clusterIP"), m.group(1) + " must be headless: DNS gives every pod");
                assertEquals(url.getPort(), service.path("ports").path(0).path("port").asInt(), url + ": the Service's port");
            }
        }
    }

    @Test
    void certificateIsIssuedThroughTheBalancersAcmeSolverCluster() throws IOException {
        JsonNode certificate = get("Certificate/moosicbox-lb");
        assertEquals("true", certificate.path("metadata").path("annotations")
                .path("cert-manager.io/issue-temporary-certificate").asText(),
                "the pods need the Secret's files to start, before the first certificate is issued");
        JsonNode issuerRef = certificate.path("spec").path("issuerRef");
        assertFalse(certificate.path("spec").path("dnsNames").isEmpty());
        JsonNode issuer = get(text(issuerRef, "kind") + "/" + text(issuerRef, "name"));
        JsonNode http01 = single(issuer.path("spec").path("acme").path("solvers")).path("http01");
        assertFalse(http01.isMissingNode(), "an HTTP-01 solver");
        assertEquals("true", get("Service/moosicbox-acme-solver").path("spec").path("selector")
                .path("acme.cert-manager.io/http01-solver").asText(), "cert-manager's label of every solver pod");
        assertEquals(8089, get("Service/moosicbox-acme-solver").path("spec").path("ports").path(0).path("targetPort").asInt(),
                "cert-manager's solver pods listen on 8089");
    }

    private static JsonNode lbConfig() throws IOException {
        return YAML.readTree(get("ConfigMap/moosicbox-lb-config").path("data").path("lb.yaml").asText());
    }

    private static JsonNode podLabels() {
        return get("Deployment/moosicbox-lb").path("spec").path("template").path("metadata").path("labels");
    }

    private static JsonNode get(String kindAndName) {
        JsonNode doc = byKindAndName.get(kindAndName);
        if (doc == null) {
            fail(kindAndName + " is missing from " + DIR + "; found " + new TreeSet<>(byKindAndName.keySet()));
        }
        return doc;
    }

    private static JsonNode single(JsonNode array) {
        assertEquals(1, array.size(), "exactly one of " + array);
        return array.get(0);
    }

    private static String text(JsonNode node, String field) {
        return node.path(field).asText("");
    }

    /** Every label of the selector is on the pods (a selector that matches nothing would pass silently). */
    private static void assertSelects(JsonNode selector, JsonNode labels) {
        assertFalse(selector.isEmpty(), "an empty selector");
        selector.fields().forEachRemaining(e ->
                assertEquals(e.getValue().asText(), labels.path(e.getKey()).asText(), "label " + e.getKey()));
    }

    private static void assertProbe(JsonNode probe, String path, Map<String, Integer> ports) {
        JsonNode get = probe.path("httpGet");
        assertEquals(path, text(get, "path"));
        String port = text(get, "port");
        assertEquals(9090, ports.containsKey(port) ? ports.get(port) : Integer.parseInt(port), path + " on the admin port");
    }

    private static Map<String, Integer> containerPorts(JsonNode container) {
        Map<String, Integer> ports = new HashMap<>();
        container.path("ports").forEach(p -> ports.put(text(p, "name"), p.path("containerPort").asInt()));
        return ports;
    }

    private static String volumeMountedAt(Map<String, String> mounts, Path dir) {
        return mounts.entrySet().stream().filter(e -> Path.of(e.getValue()).equals(dir)).map(Map.Entry::getKey)
                .findFirst().orElseGet(() -> fail("no volume is mounted at " + dir + "; mounts: " + mounts));
    }

    /** Whole seconds of a duration written as the balancer reads it: 500ms, 5s, 2m, 1h. */
    private static long seconds(String duration) {
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h)?").matcher(duration.strip());
        assertTrue(m.matches(), "a duration: " + duration);
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> (n + 999) / 1000;
            case "m" -> n * 60;
            case "h" -> n * 3600;
            default -> n;
        };
    }

    private record HostPortText(String host, int port) {
        static HostPortText parse(String text) {
            int colon = text.lastIndexOf(':');
            return new HostPortText(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
        }
    }
}
