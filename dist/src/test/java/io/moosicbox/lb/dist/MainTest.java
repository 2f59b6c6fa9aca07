package io.moosicbox.lb.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The launcher's options and exit codes, without starting a server. */
class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(Map<String, String> env, String... args) {
        return Main.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void optionsParse() {
        CommandLine c = CommandLine.parse(new String[] {"--check", "-c", "lb.yaml"});
        assertTrue(c.check());
        assertEquals(Path.of("lb.yaml"), c.configFile());
        assertEquals(Path.of("x.yaml"), CommandLine.parse(new String[] {"--config=x.yaml"}).configFile());
        assertEquals(1, CommandLine.parse(new String[] {"--config"}).problems().size());
    }

    @Test
    void anUnknownOptionIsAConfigurationError() {
        assertEquals(2, run(Map.of(), "--bogus"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option '--bogus'"));
    }

    /** Each of these ran with a guess: the second file, a file named after the next option, the working folder. */
    @Test
    void ambiguousOptionsAreRefusedNamingWhatWasGiven() {
        assertEquals(2, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001"), "--config", "a.yaml", "--config=b.yaml", "--check"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--config is given twice (a.yaml, b.yaml)"), err.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(2, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001"), "-c", "--check"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("-c: expected a file name after it, not --check"), err.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(2, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001"), "--config=", "--check"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--config=: expected a file name"), err.toString(StandardCharsets.UTF_8));
        err.reset();
        assertEquals(2, run(Map.of(), "--check", "--health-check"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--health-check must be the first argument"), err.toString(StandardCharsets.UTF_8));
        CommandLine twice = CommandLine.parse(new String[] {"-c", "a.yaml", "--config=./a.yaml"});
        assertEquals(List.of(), twice.problems(), "the same file twice is one file, however spelled");
        assertEquals(Path.of("a.yaml"), twice.configFile().normalize());
        CommandLine dashed = CommandLine.parse(new String[] {"-c", "-lb.yaml", "--check"});
        assertEquals(Path.of("-lb.yaml"), dashed.configFile(), "a file name may start with '-'");
        assertEquals(List.of(), dashed.problems());
    }

    @Test
    void helpAndVersionExitZero() {
        assertEquals(0, run(Map.of(), "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("BACKEND_SERVERS"));
        assertEquals(0, run(Map.of(), "--version"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("moosicbox_lb "));
    }

    @Test
    void checkValidatesWithoutStarting() {
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001"), "--check"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("configuration is valid"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("MAX_CLIENT_CONNECTIONS=10000 RATE_LIMIT_PER_IP=0 (off)"),
                "the variables the file cannot set are shown too:\n" + out);
        out.reset();
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "RATE_LIMIT_PER_IP", "20"), "--check"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("RATE_LIMIT_PER_IP=20 RATE_LIMIT_BURST=20"), out.toString(StandardCharsets.UTF_8));
        assertEquals(2, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "IDLE_TIMEOUT", "forever"), "--check"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("IDLE_TIMEOUT=\"forever\""));
    }

    /** nginx and HAProxy weigh their round robin: a weight that round_robin ignores is pointed out, not an error. */
    @Test
    void checkWarnsOfWeightsThatRoundRobinIgnores() {
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "http://127.0.0.1:8001,http://127.0.0.1:8002 weight=2"), "--check"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("# warning: cluster default: round_robin ignores weights (127.0.0.1:8002 weight=2)"),
                out.toString(StandardCharsets.UTF_8));
        out.reset();
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "http://127.0.0.1:8001,http://127.0.0.1:8002 weight=2",
                "LB_ALGORITHM", "weighted_round_robin"), "--check"));
        assertFalse(out.toString(StandardCharsets.UTF_8).contains("# warning"), out.toString(StandardCharsets.UTF_8));
    }

    /** A burst set for a rate limit that is off does nothing; the operator who set it expects a limit. */
    @Test
    void checkWarnsOfABurstWithoutARate() {
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "RATE_LIMIT_BURST", "50"), "--check"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains(
                "# warning: RATE_LIMIT_BURST=50 has no effect: the rate limit is off (RATE_LIMIT_PER_IP=unset)"), out.toString(StandardCharsets.UTF_8));
        out.reset();
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "RATE_LIMIT_BURST", "50", "RATE_LIMIT_PER_IP", "0"), "--check"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("(RATE_LIMIT_PER_IP=0)"), out.toString(StandardCharsets.UTF_8));
        out.reset();
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "RATE_LIMIT_BURST", "50", "RATE_LIMIT_PER_IP", "10"), "--check"));
        assertFalse(out.toString(StandardCharsets.UTF_8).contains("# warning"), out.toString(StandardCharsets.UTF_8));
    }

    /** Watching needs a file to watch: without one the switch does nothing, and the operator expected reloads. */
    @Test
    void checkWarnsOfAWatchWithoutAFile() {
        assertEquals(0, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "LB_CONFIG_WATCH", "true"), "--check"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains(
                "# warning: LB_CONFIG_WATCH=true has no effect without a configuration file (--config FILE or LB_CONFIG)"),
                out.toString(StandardCharsets.UTF_8));
    }

    /** A file that cannot be read names LB_CONFIG when the variable gave it: an export left in a shell is easy to forget. */
    @Test
    void aConfigurationFileThatCannotBeReadNamesTheVariableThatGaveIt() {
        assertEquals(2, run(Map.of("LB_CONFIG", "/nonexistent/lb.yaml"), "--check"));
        assertEquals("moosicbox_lb: configuration error: LB_CONFIG=\"/nonexistent/lb.yaml\": cannot read the configuration file: "
                + "no folder /nonexistent", err.toString(StandardCharsets.UTF_8).strip());
        err.reset();
        assertEquals(2, run(Map.of(), "--check", "--config", "/nonexistent/lb.yaml"));
        assertEquals("moosicbox_lb: configuration error: /nonexistent/lb.yaml: cannot read the configuration file: "
                + "no folder /nonexistent", err.toString(StandardCharsets.UTF_8).strip());
    }

    @Test
    void anAccessLogThatCannotBeOpenedIsAConfigurationErrorThatSaysWhy() {
        String bad = "/nonexistent/folder/access.log";
        int exit = run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0", "ACCESS_LOG", bad));
        String printed = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, exit, printed);
        // The reason in words: it was "java.nio.file.NoSuchFileException: /nonexistent/folder/access.log".
        assertTrue(printed.contains("configuration error: ACCESS_LOG=\"" + bad + "\": cannot open it for appending: "
                + "no folder /nonexistent/folder\n"), printed);
        assertTrue(!printed.contains("NullPointerException"), printed);
    }

    /** Exit 1 naming the listener whose address is taken, not every listener. */
    @Test
    void aTakenAddressNamesTheListenerThatCannotBindIt() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            String address = "127.0.0.1:" + taken.getLocalPort();
            int exit = run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "BIND_ADDRESS", address, "ADMIN_BIND_ADDRESS", "127.0.0.1:0"));
            String printed = err.toString(StandardCharsets.UTF_8);
            assertEquals(1, exit, printed);
            assertEquals("moosicbox_lb: cannot start: cannot listen on BIND_ADDRESS=\"" + address
                    + "\": Address already in use", printed.strip());

            err.reset();
            exit = run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "BIND_ADDRESS", "127.0.0.1:0", "ADMIN_BIND_ADDRESS", address));
            printed = err.toString(StandardCharsets.UTF_8);
            assertEquals(1, exit, printed);
            assertEquals("moosicbox_lb: cannot start: cannot listen on ADMIN_BIND_ADDRESS=\"" + address
                    + "\": Address already in use", printed.strip());
        }
    }

    /** A value of the file is named by its key: the message sent users looking for a variable nobody had set. */
    @Test
    void aStartProblemWithAValueOfTheFileNamesTheFilesKey(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            String address = "127.0.0.1:" + taken.getLocalPort();
            Path file = java.nio.file.Files.writeString(dir.resolve("lb.yaml"), "listeners: { http: " + address + ", admin: 127.0.0.1:0 }\n"
                    + "clusters: [{ name: d, backends: [127.0.0.1:8001] }]\n");
            assertEquals(1, run(Map.of(), "--config", file.toString()));
            assertEquals("moosicbox_lb: cannot start: cannot listen on listeners.http: " + address
                    + " in the file: Address already in use", err.toString(StandardCharsets.UTF_8).strip());

            err.reset();
            java.nio.file.Files.writeString(file, "listeners: { http: 127.0.0.1:0, admin: 127.0.0.1:0 }\n"
                    + "clusters: [{ name: d, backends: [127.0.0.1:8001] }]\naccess_log: { target: /nonexistent/folder/access.log }\n");
            assertEquals(2, run(Map.of(), "--config", file.toString()));
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("configuration error: access_log.target: /nonexistent/folder/access.log "
                    + "in the file: cannot open it for appending"), err.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aListenerHostThatDoesNotResolveIsAConfigurationError() {
        // The ".invalid" top-level domain never resolves (RFC 6761).
        int exit = run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "BIND_ADDRESS", "nonexistent.invalid:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0"));
        String printed = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, exit, printed);
        assertTrue(printed.contains("BIND_ADDRESS=\"nonexistent.invalid:0\": the host name nonexistent.invalid does not resolve"), printed);
    }

    @Test
    void theDemoDoesNotReadADeploymentsConfigFileLeftInTheEnvironment() {
        // --check stops after reading the configuration; the demo's backends are real and are closed again.
        assertEquals(0, run(Map.of("LB_CONFIG", "/nonexistent/lb.yaml", "BIND_ADDRESS", "127.0.0.1:0",
                "ADMIN_BIND_ADDRESS", "127.0.0.1:0"), "--demo", "--check"), err.toString(StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("configuration is valid"), printed);
        assertTrue(printed.contains("http://127.0.0.1:"), "the demo's backends:\n" + printed);
        assertTrue(!printed.contains("nonexistent"), printed);
    }

    @Test
    void theListenerLimitsAndTheWatchAreCheckedWithTheRestOfTheConfiguration() {
        assertEquals(2, run(Map.of("BACKEND_SERVERS", "127.0.0.1:8001", "IDLE_TIMEOUT", "forever",
                "MAX_BODY_SIZE", "huge", "LB_CONFIG_WATCH", "maybe", "RATE_LIMIT_BURST", "0"), "--check"));
        String printed = err.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("RATE_LIMIT_BURST=\"0\": expected at least 1"), printed);
        assertTrue(printed.contains("IDLE_TIMEOUT=\"forever\""), printed);
        assertTrue(printed.contains("MAX_BODY_SIZE=\"huge\""), printed);
        assertTrue(printed.contains("LB_CONFIG_WATCH=\"maybe\""), printed);
    }
}
