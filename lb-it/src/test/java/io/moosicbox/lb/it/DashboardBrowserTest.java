package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in a real browser: headless Chromium loads the admin page, shows every backend,
 * an operator presses Drain, and the state changes on the page and in the API.
 */
class DashboardBrowserTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static String address(TestBackend b) {
        return "127.0.0.1:" + b.port();
    }

    private static Path chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    @Test
    void drainFromThePage(@TempDir Path profile) throws Exception {
        Path chromium = chromium();
        if (chromium == null) {
            String reason = "chromium is not installed (apt-get install chromium): the dashboard cannot be tested in a browser";
            if (System.getenv("CI") != null) {
                fail(reason);
            }
            Assumptions.abort(reason);
        }
        try (TestBackend one = new TestBackend("one"); TestBackend two = new TestBackend("two");
             LbProcess lb = LbProcess.start(Map.of("BACKEND_SERVERS", "http://" + address(one) + ",http://" + address(two) + " weight=2"))) {
            for (int i = 0; i < 6; i++) {
                get(lb.proxyUrl() + "/");
            }
            Process browser = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-port=0", "--remote-allow-origins=*",
                    "--window-size=1280,720", lb.adminUrl() + "/")
                    .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
            try (Cdp page = new Cdp(pageTarget(profile, browser))) {
                String row1 = "tr[data-backend=\"default/" + address(one) + "\"]";
                String row2 = "tr[data-backend=\"default/" + address(two) + "\"]";
                awaitTrue(page, "document.querySelector('" + row1 + "') && document.querySelector('" + row2 + "')"
                        + " && document.querySelector('" + row1 + " [data-state]').dataset.state === 'UP'", "both backends on the page");
                // A second poll gives rates: traffic between the two shows as requests per second.
                for (int i = 0; i < 10; i++) {
                    get(lb.proxyUrl() + "/");
                }
                awaitTrue(page, "[...document.querySelectorAll('" + row2 + " td')].some(td => td.dataset.label === 'Req/s' && td.textContent !== '–')",
                        "a request rate");
                awaitTrue(page, "!document.querySelector('section[data-cluster=\"default\"] [data-role=\"cluster-rate\"]').textContent.startsWith('–')",
                        "the cluster's own rate, which also counts answers no backend gave");

                page.eval("document.querySelector('" + row1 + " button[data-action=\"drain\"]').click()");
                awaitTrue(page, "document.querySelector('" + row1 + " [data-state]').dataset.state === 'DRAINED'", "DRAINED on the page");
                assertEquals("DRAINED", apiState(lb, address(one)));
                assertEquals("UP", apiState(lb, address(two)));
                assertTrue(page.eval("document.getElementById('message').textContent").asText().contains("UP → DRAINED"));
                assertTrue(page.eval("document.querySelector('" + row1 + " button[data-action=\"drain\"]').disabled").asBoolean());

                // Traffic between two polls, so that the screenshot shows rates and latency.
                for (int i = 0; i < 20; i++) {
                    get(lb.proxyUrl() + "/");
                }
                String rate = "[...document.querySelectorAll('%s td')].find(td => td.dataset.label === 'Req/s').textContent";
                awaitTrue(page, rate.formatted(row1) + " === '0.00' && !['0.00', '–'].includes(" + rate.formatted(row2) + ")",
                        "a poll that saw traffic only on the backend still in rotation");
                screenshot(page, Path.of("target", "dashboard.png"));
                page.call("Emulation.setDeviceMetricsOverride", Map.of("width", 390, "height", 844, "deviceScaleFactor", 2, "mobile", true));
                screenshot(page, Path.of("target", "dashboard-phone.png"));
                page.call("Emulation.clearDeviceMetricsOverride", Map.of());

                page.eval("document.querySelector('" + row1 + " button[data-action=\"enable\"]').click()");
                awaitTrue(page, "document.querySelector('" + row1 + " [data-state]').dataset.state === 'UP'", "UP again on the page");
                assertEquals("UP", apiState(lb, address(one)));
            } finally {
                browser.descendants().forEach(ProcessHandle::destroy);
                browser.destroy();
                if (!browser.waitFor(10, TimeUnit.SECONDS)) {
                    browser.destroyForcibly();
                }
            }
        }
    }

    /** Chromium writes its DevTools port into the profile; the page target is the tab it opened. */
    private URI pageTarget(Path profile, Process browser) throws Exception {
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (!browser.isAlive()) {
                fail("chromium exited with " + browser.exitValue() + ": " + Files.readString(profile.resolve("chromium.log")));
            }
            if (Files.exists(portFile) && Files.readAllLines(portFile).size() >= 1 && !Files.readAllLines(portFile).get(0).isBlank()) {
                String port = Files.readAllLines(portFile).get(0).trim();
                for (JsonNode t : JSON.readTree(get("http://127.0.0.1:" + port + "/json/list"))) {
                    if (t.get("type").asText().equals("page")) {
                        return URI.create(t.get("webSocketDebuggerUrl").asText());
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("chromium gave no page target in 30 s: " + Files.readString(profile.resolve("chromium.log")));
    }

    private static void awaitTrue(Cdp page, String expression, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!page.eval("!!(" + expression + ")").asBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; page: "
                        + page.eval("document.body.innerText").asText());
            }
            Thread.sleep(100);
        }
    }

    private static void screenshot(Cdp page, Path file) throws Exception {
        JsonNode shot = page.call("Page.captureScreenshot", Map.of("format", "png"));
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(shot.get("data").asText()));
    }

    private String apiState(LbProcess lb, String address) throws Exception {
        for (JsonNode b : JSON.readTree(get(lb.adminUrl() + "/api/backends"))) {
            if (b.get("address").asText().equals(address)) {
                return b.get("state").asText();
            }
        }
        throw new AssertionError(address + " not in /api/backends");
    }

    private String get(String url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }
}
