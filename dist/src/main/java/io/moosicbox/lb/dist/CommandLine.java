package io.moosicbox.lb.dist;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The launcher's options. Variables carry the configuration; options only say what to do. */
record CommandLine(boolean help, boolean version, boolean check, boolean demo, Path configFile, List<String> problems) {

    static CommandLine parse(String[] args) {
        boolean help = false;
        boolean version = false;
        boolean check = false;
        boolean demo = false;
        Path config = null;
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> help = true;
                case "-V", "--version" -> version = true;
                case "--check" -> check = true;
                case "--demo" -> demo = true;
                case "-c", "--config" -> {
                    if (i + 1 < args.length) {
                        config = Path.of(args[++i]);
                    } else {
                        problems.add(a + ": expected a file name after it");
                    }
                }
                default -> {
                    if (a.startsWith("--config=")) {
                        config = Path.of(a.substring("--config=".length()));
                    } else {
                        problems.add("unknown option '" + a + "'; see --help");
                    }
                }
            }
        }
        return new CommandLine(help, version, check, demo, config, problems);
    }
}
