package io.moosicbox.lb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tarball as a user gets it: its layout, its start script, its options and its errors. */
class DistributionTest {

    @Test
    void tarballHoldsOneFolderWithTheStartScriptJarsExampleReadmeAndLicense() throws Exception {
        String tarball = System.getProperty("lb.tarball");
        Http.Result list = Http.run("tar", "tzvf", tarball);
        assertEquals(0, list.exitCode(), list.stderr());
        String root = "moosicbox-lb-" + version() + "/";
        for (String entry : List.of("bin/moosicbox_lb", "conf/lb.example.yaml", "README.md", "LICENSE", "lib/jetty-server-")) {
            assertTrue(list.stdout().contains(root + entry), entry + " missing from the tarball:\n" + list.stdout());
        }
        for (String line : list.stdout().split("\n")) {
            String name = line.substring(line.lastIndexOf(' ') + 1);
            assertTrue(name.startsWith(root), "entry outside the top folder: " + name);
            if (name.equals(root + "bin/moosicbox_lb")) {
                assertTrue(line.startsWith("-rwxr-xr-x"), "start script not executable: " + line);
            }
        }
    }

    @Test
    void helpListsEveryVariableWithItsDefault() throws Exception {
        Http.Result help = Http.run(LbProcess.launcher().toString(), "--help");
        assertEquals(0, help.exitCode(), help.stderr());
        for (String variable : List.of("BIND_ADDRESS", "BACKEND_SERVERS", "ADMIN_BIND_ADDRESS", "ADMIN_TOKEN", "LB_ALGORITHM",
                "HEALTH_CHECK_PATH", "HEALTH_CHECK_INTERVAL", "SHUTDOWN_TIMEOUT", "LB_CONFIG", "LOG_LEVEL", "RUST_LOG",
                "PORT", "JAVA_OPTS")) {
            assertTrue(help.stdout().contains("\n  " + variable + " "), variable + " missing from --help:\n" + help.stdout());
        }
        assertTrue(help.stdout().contains("[0.0.0.0:80]"), "defaults are shown in brackets");
        assertTrue(help.stdout().contains("--demo") && help.stdout().contains("--check"));
    }

    @Test
    void versionPrintsTheProjectVersion() throws Exception {
        Http.Result v = Http.run(LbProcess.launcher().toString(), "--version");
        assertEquals(0, v.exitCode());
        assertEquals("moosicbox_lb " + version(), v.stdout().trim());
    }

    @Test
    void everyBadVariableIsNamedWithItsValueAndTheExitCodeIsTwo() throws Exception {
        record Case(Map<String, String> env, List<String> expected) {}
        List<Case> cases = List.of(
                new Case(Map.of(), List.of("BACKEND_SERVERS is not set")),
                new Case(Map.of("BACKEND_SERVERS", "ftp://10.0.0.1:21"), List.of("BACKEND_SERVERS=\"ftp://10.0.0.1:21\"", "expected http or https")),
                new Case(Map.of("BACKEND_SERVERS", "127.0.0.1:8001 weight=heavy"), List.of("weight='heavy'")),
                new Case(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "BIND_ADDRESS", "localhost"), List.of("BIND_ADDRESS=\"localhost\"", "host:port")),
                new Case(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "SHUTDOWN_TIMEOUT", "soon"), List.of("SHUTDOWN_TIMEOUT=\"soon\"", "duration")),
                new Case(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "LB_ALGORITHM", "random"), List.of("LB_ALGORITHM=\"random\"")),
                new Case(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "LOG_LEVEL", "loud"), List.of("LOG_LEVEL=\"loud\"")),
                // Several problems at once: all are reported, one line each.
                new Case(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "PORT", "99999", "HEALTH_CHECK_INTERVAL", "0"),
                        List.of("PORT=\"99999\"", "HEALTH_CHECK_INTERVAL=\"0\"")));
        for (Case c : cases) {
            try (LbProcess lb = LbProcess.launch(c.env())) {
                int exit = lb.awaitExit(Duration.ofSeconds(30));
                String err = lb.stderr();
                assertEquals(2, exit, "exit code for " + c.env() + ":\n" + err);
                for (String e : c.expected()) {
                    assertTrue(err.contains(e), "'" + e + "' missing for " + c.env() + ":\n" + err);
                }
                assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace:\n" + err);
                long lines = err.lines().filter(l -> l.startsWith("moosicbox_lb: configuration error: ")).count();
                assertEquals(err.lines().count(), lines, "one line per problem:\n" + err);
            }
        }
    }

    @Test
    void checkPrintsTheEffectiveSetupAndExitsZero() throws Exception {
        try (LbProcess lb = LbProcess.launch(Map.of("BACKEND_SERVERS", "10.1.2.3:8001 weight=3 max_conns=20",
                "LB_ALGORITHM", "round_robin", "ADMIN_TOKEN", "s3cret"), "--check")) {
            assertEquals(0, lb.awaitExit(Duration.ofSeconds(30)), lb.stderr());
            String out = lb.stdout();
            assertTrue(out.contains("url: http://10.1.2.3:8001"), out);
            assertTrue(out.contains("weight: 3") && out.contains("max_conns: 20"), out);
            assertFalse(out.contains("s3cret"), "the admin token must not be printed");
        }
    }

    @Test
    void aHeapSizeInJavaOptsReplacesTheDefaultSizes() throws Exception {
        // Each alone clashed with a default: -Xmx32m with -Xms64m, -Xms1g with -Xmx512m.
        for (String heap : List.of("-Xmx32m", "-Xms600m")) {
            try (LbProcess lb = LbProcess.launch(Map.of("BACKEND_SERVERS", "10.1.2.3:8001", "JAVA_OPTS", heap), "--check")) {
                assertEquals(0, lb.awaitExit(Duration.ofSeconds(30)), heap + ": " + lb.stderr());
            }
        }
    }

    @Test
    void aPortThatCannotBeBoundExitsOneWithTheReason() throws Exception {
        try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             LbProcess lb = LbProcess.launch(Map.of("BACKEND_SERVERS", "127.0.0.1:9",
                     "BIND_ADDRESS", "127.0.0.1:" + taken.getLocalPort()))) {
            assertEquals(1, lb.awaitExit(Duration.ofSeconds(30)));
            assertTrue(lb.stderr().contains("cannot listen on BIND_ADDRESS=\"127.0.0.1:" + taken.getLocalPort() + "\": Address already in use"),
                    lb.stderr());
        }
    }

    @Test
    void demoAlternatesBetweenItsTwoBackendsAndStopsCleanlyOnSigterm() throws Exception {
        try (LbProcess lb = LbProcess.launch(Map.of("BIND_ADDRESS", "127.0.0.1:0", "ADMIN_BIND_ADDRESS", "127.0.0.1:0"), "--demo")) {
            lb.awaitListening(Duration.ofSeconds(30));
            String first = Http.curl(lb.proxyUrl() + "/").stdout();
            String second = Http.curl(lb.proxyUrl() + "/").stdout();
            assertTrue(first.startsWith("Hello from demo-backend-"), first);
            assertTrue(second.startsWith("Hello from demo-backend-"), second);
            assertFalse(first.substring(0, 25).equals(second.substring(0, 25)), "round robin alternates:\n" + first + second);
            assertTrue(lb.stdout().contains("curl " + lb.proxyUrl() + "/"), "the demo prints the URL to try:\n" + lb.stdout());
            // MoosicBox clients keep a WebSocket on /ws: the demo's backends echo there, through the balancer.
            String ws = "ws://127.0.0.1:" + lb.proxyPort() + "/ws";
            assertTrue(lb.stdout().contains(ws), "the demo prints the WebSocket URL:\n" + lb.stdout());
            WebSocketClient client = new WebSocketClient();
            client.start();
            try {
                WebSocketClientsTest.Recorder recorder = new WebSocketClientsTest.Recorder();
                Session session = client.connect(recorder, URI.create(ws)).get(10, TimeUnit.SECONDS);
                session.sendText("hello", Callback.NOOP);
                Object echo = recorder.messages.poll(10, TimeUnit.SECONDS);
                assertTrue(echo instanceof String e && e.matches("demo-backend-[12]: hello"), String.valueOf(echo));
                session.close();
            } finally {
                client.stop();
            }
            assertEquals("{\"status\":\"UP\"}", Http.curl(lb.adminUrl() + "/health").stdout());
            assertEquals(0, lb.terminate(Duration.ofSeconds(30)), lb.stderr());
        }
    }

    @Test
    void anAppCdsArchiveIsWrittenOnTheFirstCleanStopAndUsedAsItIsByTheNext(@TempDir Path dir) throws Exception {
        Path archive = dir.resolve("lb.jsa");
        Map<String, String> env = Map.of("LB_CDS_ARCHIVE", archive.toString());
        try (LbProcess check = LbProcess.launch(env, "--version")) {
            assertEquals(0, check.awaitExit(Duration.ofSeconds(30)), check.stderr());
        }
        assertFalse(Files.exists(archive), "a --version run would archive only the few classes it loads");

        FileTime written = null;
        for (int run = 1; run <= 2; run++) {
            try (LbProcess lb = LbProcess.launch(env, "--demo")) {
                lb.awaitListening(Duration.ofSeconds(30));
                assertTrue(Http.curl(lb.proxyUrl() + "/").stdout().startsWith("Hello from demo-backend-"));
                assertEquals(0, lb.terminate(Duration.ofSeconds(30)), "run " + run + ":\n" + lb.stderr() + lb.stdout());
                assertFalse((lb.stdout() + lb.stderr()).contains("cds"), "the archive is written silently:\n" + lb.stdout());
            }
            assertTrue(Files.size(archive) > 1_000_000, "run " + run + " left no archive");
            if (written == null) {
                written = Files.getLastModifiedTime(archive);
            } else {
                // A JVM that could not use the archive would have written a new one as it exited.
                assertEquals(written, Files.getLastModifiedTime(archive), "the second run did not use the archive");
            }
        }
    }

    @Test
    void anAppCdsArchiveThatCannotBeWrittenIsLeftOffAndTheStopStaysClean(@TempDir Path dir) throws Exception {
        // The JVM would exit 1 after a clean stop if it could not write the archive.
        Path archive = dir.resolve("missing-folder/lb.jsa");
        try (LbProcess lb = LbProcess.launch(Map.of("LB_CDS_ARCHIVE", archive.toString()), "--demo")) {
            lb.awaitListening(Duration.ofSeconds(30));
            assertEquals(0, lb.terminate(Duration.ofSeconds(30)), lb.stderr() + lb.stdout());
        }
        assertFalse(Files.exists(archive.getParent()));
    }

    @Test
    void anAppCdsArchiveVariableThatNamesAnotherFileIsAnErrorAndTheFileIsKept(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("lb.yaml");
        Files.writeString(config, "clusters: []\n");
        Path empty = Files.createFile(dir.resolve("empty.jsa"));
        for (Path file : List.of(config, empty)) {
            for (String mode : List.of("--demo", "--check")) {
                try (LbProcess lb = LbProcess.launch(Map.of("LB_CDS_ARCHIVE", file.toString(), "BACKEND_SERVERS", "127.0.0.1:9"), mode)) {
                    assertEquals(2, lb.awaitExit(Duration.ofSeconds(30)), mode + ": " + lb.stderr());
                    assertEquals("moosicbox_lb: configuration error: LB_CDS_ARCHIVE=\"" + file
                            + "\": this file is not a CDS archive; name a file that does not exist yet (the balancer writes it), such as /var/cache/moosicbox-lb/moosicbox_lb.jsa\n",
                            lb.stderr());
                }
            }
            assertTrue(Files.exists(file), file + " was removed");
        }
        assertEquals("clusters: []\n", Files.readString(config));
    }

    /** The unpacked folder is named moosicbox-lb-VERSION. */
    static String version() {
        return LbProcess.home().getFileName().toString().substring("moosicbox-lb-".length());
    }
}
