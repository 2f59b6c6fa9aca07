package io.moosicbox.lb.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moosicbox.lb.pool.TestBalancer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWatcherTest {
    @TempDir
    Path dir;


    @Test
    void reloadsOnceAChangedFileSettlesAndFollowsASymlinkSwap() throws Exception {
        // The layout of a mounted Kubernetes ConfigMap: lb.yaml -> ..data/lb.yaml, ..data -> a versioned directory.
        Path v1 = Files.createDirectories(dir.resolve("..v1"));
        Path v2 = Files.createDirectories(dir.resolve("..v2"));
        Files.writeString(v1.resolve("lb.yaml"), "one");
        Files.writeString(v2.resolve("lb.yaml"), "two");
        Path data = Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Path file = Files.createSymbolicLink(dir.resolve("lb.yaml"), Path.of("..data/lb.yaml"));
        AtomicInteger reloads = new AtomicInteger();
        try (ConfigWatcher w = new ConfigWatcher(file, ConfigWatcher.snapshot(file), Duration.ofMillis(20), reloads::incrementAndGet)) {
            Path tmp = Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
            Files.move(tmp, data, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            TestBalancer.await("a reload", Duration.ofSeconds(10), () -> reloads.get() == 1);
            // The same content again, and polls that see nothing new: no further reload.
            Files.writeString(v2.resolve("lb.yaml"), "two");
            int polls = 20;
            Thread.sleep(20L * polls);
            assertEquals(1, reloads.get());
            Files.writeString(v2.resolve("lb.yaml"), "three");
            TestBalancer.await("a second reload", Duration.ofSeconds(10), () -> reloads.get() == 2);
        }
    }

    @Test
    void aChangeMadeWhileTheProcessStartedIsReloaded() throws Exception {
        // The launcher takes the baseline, then reads and starts; the file changes in between.
        Path file = Files.writeString(dir.resolve("lb.yaml"), "as read at start");
        byte[] baseline = ConfigWatcher.snapshot(file);
        Files.writeString(file, "changed during start-up");
        AtomicInteger reloads = new AtomicInteger();
        try (ConfigWatcher w = new ConfigWatcher(file, baseline, Duration.ofMillis(20), reloads::incrementAndGet)) {
            TestBalancer.await("a reload of the change made during start-up", Duration.ofSeconds(10), () -> reloads.get() == 1);
        }
    }
}
