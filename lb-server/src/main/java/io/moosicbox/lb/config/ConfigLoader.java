package io.moosicbox.lb.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds the effective configuration: defaults, then the file (if any), then the environment. */
public final class ConfigLoader {
    private ConfigLoader() {}

    /**
     * @param file the YAML file from {@code --config} or {@code LB_CONFIG}; null for none
     * @throws ConfigException listing every problem found, the file's and the environment's
     */
    public static LbConfig load(Path file, Map<String, String> env) throws ConfigException {
        if (file == null) {
            return EnvConfig.load(EnvConfig.defaults(), env);
        }
        ConfigFile.Result read = ConfigFile.read(file);
        List<String> problems = new ArrayList<>(read.problems());
        LbConfig config = null;
        try {
            // No Pingora default here: the Pingora balancer had no file, and a file that keeps every
            // listener on loopback must not get a public TLS listener from a stray file in /etc.
            config = EnvConfig.load(read.config(), env, null);
        } catch (ConfigException e) {
            for (String p : e.problems()) {
                // A file that did not read has no backends yet: saying so again would only add noise.
                if (read.problems().isEmpty() || !p.startsWith("BACKEND_SERVERS is not set")) {
                    problems.add(p);
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }
}
