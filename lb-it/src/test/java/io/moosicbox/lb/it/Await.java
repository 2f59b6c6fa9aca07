package io.moosicbox.lb.it;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Polls what a black-box test cannot be told directly (a state, a log line) until it holds; fails at a deadline. */
final class Await {
    private static final long WITHIN_SECONDS = 20;

    private Await() {}

    static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WITHIN_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + WITHIN_SECONDS + " s waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
