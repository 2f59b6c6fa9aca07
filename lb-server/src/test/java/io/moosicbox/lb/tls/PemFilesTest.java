package io.moosicbox.lb.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PemFilesTest {
    private static final String BOM = "\uFEFF";

    @TempDir
    Path dir;

    /** Why a file cannot be read, in words: it said "cannot read (IOException: Is a directory)". */
    @Test
    void aFileThatCannotBeReadIsNamedWithTheReasonInWords() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("tls"));
        PemException e = org.junit.jupiter.api.Assertions.assertThrows(PemException.class, () -> PemFiles.read(folder));
        assertEquals(folder + ": cannot read (it is a folder, not a file)", e.getMessage());
        Path inMissingFolder = dir.resolve("live/music.example.com/privkey.pem");
        e = org.junit.jupiter.api.Assertions.assertThrows(PemException.class, () -> PemFiles.read(inMissingFolder));
        assertEquals(inMissingFolder + ": cannot read (no folder " + inMissingFolder.getParent() + ")", e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(PemException.class, () -> PemFiles.read(dir.resolve("missing.pem")));
        assertEquals(dir.resolve("missing.pem") + ": cannot read (no such file)", e.getMessage());
    }

    /**
     * A byte-order mark before a block (a file saved by a Windows editor, an intermediate pasted
     * from one) dropped that block without a word: the chain was served without its intermediate.
     */
    @Test
    void aByteOrderMarkBeforeABlockDoesNotHideIt() throws Exception {
        TestCerts.Pair chain = TestCerts.chain(dir, "music.test");
        String[] blocks = Files.readString(chain.cert()).split("(?=-----BEGIN CERTIFICATE-----)");
        assertEquals(2, blocks.length);
        Path cert = dir.resolve("bom-fullchain.pem");
        Files.writeString(cert, BOM + blocks[0] + BOM + blocks[1]);
        Path key = dir.resolve("bom.key");
        Files.writeString(key, BOM + Files.readString(chain.key()));
        assertEquals(2, PemFiles.certificates(cert, PemFiles.read(cert)).size(), "the intermediate after a BOM");
        CertificateSet set = CertificateSet.load(List.of(new LbConfig.CertificatePair(cert.toString(), key.toString())));
        assertEquals(1, set.certificates().size());
    }
}
