package io.moosicbox.lb.config;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the settings came from that are only found wrong after loading (a file that cannot be read,
 * an address that cannot be bound), so that the problem names what the user set: the variable, or the
 * file's key, or that it is the default. Naming both sent users looking for a {@code BIND_ADDRESS}
 * nobody had set, or for a file they did not use.
 *
 * @param variables the variables among {@link #NAMED} that are set, with their values as written
 * @param fileKeys  the keys the configuration file gave a value ({@code tls.certificates[0].cert}); empty without a file
 * @param known     false for a configuration built in code, whose settings have no such source
 */
public record Origins(Map<String, String> variables, Set<String> fileKeys, boolean known) {
    /** The variables such problems name; only these are kept, so that no other value (a token) is held here. */
    static final List<String> NAMED = List.of("BIND_ADDRESS", "PORT", "SSL_BIND_ADDRESS", "SSL_PORT", "ADMIN_BIND_ADDRESS",
            "SSL_CERT_PATH", "SSL_CRT_PATH", "SSL_KEY_PATH", "BACKEND_CA_FILE", "ACCESS_LOG");

    public Origins {
        variables = Map.copyOf(variables);
        fileKeys = Set.copyOf(fileKeys);
    }

    /** A configuration built in code: settings are named by variable and file key together. */
    public static Origins unknown() {
        return new Origins(Map.of(), Set.of(), false);
    }

    static Origins of(Map<String, String> env, Set<String> fileKeys) {
        Map<String, String> set = new HashMap<>();
        for (String name : NAMED) {
            String value = env.get(name);
            if (value != null && !value.isEmpty()) {
                set.put(name, value);
            }
        }
        return new Origins(set, fileKeys, true);
    }

    /**
     * The setting as the user set it: {@code BIND_ADDRESS="127.0.0.1:80"} (the first of {@code variables}
     * that is set wins, as it does when loading), {@code listeners.http: 127.0.0.1:80 in the file}, or
     * {@code BIND_ADDRESS=0.0.0.0:80 (the default)}. A variable's value is the one entry of a
     * comma-separated list that holds {@code value}, else the whole variable.
     */
    public String name(String fileKey, Object value, String... variables) {
        for (String variable : variables) {
            String raw = this.variables.get(variable);
            if (raw != null) {
                String written = Arrays.stream(raw.split(",")).map(String::trim).anyMatch(e -> e.equals(String.valueOf(value)))
                        ? String.valueOf(value) : raw;
                return variable + "=\"" + written + "\"";
            }
        }
        if (!known) {
            return variables[0] + " (" + fileKey + ")=\"" + value + "\"";
        }
        if (fileKeys.contains(fileKey)) {
            return fileKey + ": " + value + " in the file";
        }
        return variables[0] + "=" + value + " (the default)";
    }
}
