package io.moosicbox.lb.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Builds the effective configuration: defaults, then the file (if any), then the environment. */
public final class ConfigLoader {
    private ConfigLoader() {}

    /**
     * @param file the YAML file from {@code --config} or {@code LB_CONFIG}; null for none
     * @throws ConfigException listing every problem found
     */
    public static LbConfig load(Path file, Map<String, String> env) throws ConfigException {
        LbConfig base = EnvConfig.defaults();
        if (file != null) {
            throw new ConfigException(List.of(file + ": configuration files are not read yet; use the environment variables"));
        }
        return EnvConfig.load(base, env);
    }
}
