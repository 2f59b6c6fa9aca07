package io.moosicbox.lb.config;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Why a file named in the configuration cannot be read or written, as a user reads it:
 * {@code no such file}, {@code permission denied}, not {@code java.nio.file.NoSuchFileException: /etc/ca.pem}.
 */
public final class FileErrors {
    private FileErrors() {}

    /** @param file the file as named, to tell a folder from a file */
    public static String describe(Path file, IOException e) {
        if (file != null && Files.isDirectory(file)) {
            return "it is a folder, not a file";
        }
        if (e instanceof NoSuchFileException) {
            Path folder = file == null ? null : file.toAbsolutePath().getParent();
            return folder != null && !Files.isDirectory(folder) ? "no folder " + folder : "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            // "Read-only file system", as under systemd's ProtectSystem=strict.
            return f.getReason().toLowerCase(Locale.ROOT);
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
