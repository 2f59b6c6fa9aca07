package io.moosicbox.lb.server;

import io.moosicbox.lb.config.ConfigException;
import io.moosicbox.lb.config.LbConfig;

/** Where a reload reads the configuration again: the same file and environment as at start. */
@FunctionalInterface
public interface ConfigSource {
    LbConfig load() throws ConfigException;
}
