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
        String config = null;
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String file = null;
            switch (a) {
                case "-h", "--help" -> help = true;
                case "-V", "--version" -> version = true;
                case "--check" -> check = true;
                case "--demo" -> demo = true;
                case "-c", "--config" -> {
                    // "-c --check" read a file named --check and reported it missing, not the missing name.
                    if (i + 1 < args.length && !isOption(args[i + 1])) {
                        file = args[++i];
                    } else {
                        problems.add(a + ": expected a file name after it" + (i + 1 < args.length ? ", not " + args[i + 1] : ""));
                    }
                }
                case "--health-check" -> problems.add("--health-check must be the first argument (bin/moosicbox_lb --health-check [URL])");
                default -> {
                    if (a.startsWith("--config=")) {
                        file = a.substring("--config=".length());
                        if (file.isEmpty()) {
                            problems.add("--config=: expected a file name after '='");
                            file = null;
                        }
                    } else {
                        problems.add("unknown option '" + a + "'; see --help");
                    }
                }
            }
            if (file != null) {
                // One file is read: the first of two was silently dropped.
                if (config != null && !Path.of(config).normalize().equals(Path.of(file).normalize())) {
                    problems.add("--config is given twice (" + config + ", " + file + "); the balancer reads one file");
                }
                config = file;
            }
        }
        return new CommandLine(help, version, check, demo, config == null ? null : Path.of(config), problems);
    }

    /** One of the launcher's own options: a file may be named -lb.yaml, an option may not be taken for a file. */
    private static boolean isOption(String arg) {
        return List.of("-h", "--help", "-V", "--version", "--check", "--demo", "-c", "--config", "--health-check").contains(arg)
                || arg.startsWith("--config=");
    }
}
