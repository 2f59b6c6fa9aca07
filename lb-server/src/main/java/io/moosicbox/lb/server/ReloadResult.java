package io.moosicbox.lb.server;

import java.util.List;

/**
 * The outcome of a reload.
 *
 * @param applied  whether the new configuration now serves
 * @param problems why it was refused; the running configuration then stays
 */
public record ReloadResult(boolean applied, List<String> problems) {
    public static ReloadResult refused(List<String> problems) {
        return new ReloadResult(false, List.copyOf(problems));
    }

    public static ReloadResult ok() {
        return new ReloadResult(true, List.of());
    }
}
