package io.moosicbox.lb.it;

/**
 * Content that is a function of its offset, so that gigabytes can be served and checked without
 * storing them: a byte in the wrong place, a lost or a repeated chunk all show.
 */
final class BytePattern {
    private BytePattern() {}

    static byte at(long offset) {
        return (byte) ((offset * 0x9E3779B97F4A7C15L) >>> 56);
    }

    static void fill(byte[] buffer, long offset, int length) {
        for (int i = 0; i < length; i++) {
            buffer[i] = at(offset + i);
        }
    }

    /** @return the offset of the first wrong byte, or -1 */
    static long firstMismatch(byte[] buffer, long offset, int length) {
        for (int i = 0; i < length; i++) {
            if (buffer[i] != at(offset + i)) {
                return offset + i;
            }
        }
        return -1;
    }
}
