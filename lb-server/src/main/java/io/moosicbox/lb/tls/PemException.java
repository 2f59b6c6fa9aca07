package io.moosicbox.lb.tls;

/** A certificate or key file that cannot be used; the message names the file and says why. */
public final class PemException extends Exception {
    public PemException(String message) {
        super(message);
    }

    public PemException(String message, Throwable cause) {
        super(message, cause);
    }
}
