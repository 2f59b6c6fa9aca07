package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * One certificate pair's files as read at one moment. The bytes that are compared with the
 * previous read are the bytes that are then loaded, so a file rewritten in between cannot slip in
 * unchecked.
 *
 * @param unreadable why the certificate or the key could not be read; then both bytes are null
 */
record PairFiles(LbConfig.CertificatePair pair, byte[] cert, byte[] key, PemException unreadable) {

    static List<PairFiles> read(List<LbConfig.CertificatePair> pairs) {
        List<PairFiles> files = new ArrayList<>();
        for (LbConfig.CertificatePair pair : pairs) {
            try {
                files.add(new PairFiles(pair, PemFiles.read(Path.of(pair.cert())), PemFiles.read(Path.of(pair.key())), null));
            } catch (PemException e) {
                files.add(new PairFiles(pair, null, null, e));
            }
        }
        return files;
    }

    /**
     * Whatever way the files were replaced (rewritten, renamed over, symlink re-pointed), a change
     * changes this. An unreadable file adds its error instead, so that a missing file is reported
     * once, not at every poll. Lengths go in too: bytes moved from the end of a certificate to the
     * start of its key must not digest the same.
     */
    static byte[] digest(List<PairFiles> files) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (PairFiles f : files) {
            if (f.unreadable() != null) {
                sha.update((byte) 1);
                add(sha, f.unreadable().getMessage().getBytes(StandardCharsets.UTF_8));
            } else {
                sha.update((byte) 0);
                add(sha, f.cert());
                add(sha, f.key());
            }
        }
        return sha.digest();
    }

    private static void add(MessageDigest sha, byte[] bytes) {
        sha.update(ByteBuffer.allocate(Integer.BYTES).putInt(bytes.length).array());
        sha.update(bytes);
    }
}
