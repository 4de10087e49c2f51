package dev.pier;

import dev.pier.cli.PierCommand;

/** Entry point of the fat jar and of {@code ./pier}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        Preload.startFor(args);
        int code = PierCommand.commandLine(args).execute(args);
        Preload.awaitFinished();
        System.exit(code);
    }
}
