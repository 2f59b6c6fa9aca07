package io.moosicbox.lb.tls;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads PEM as openssl, certbot and cert-manager write it: certificate chains, and private keys in
 * PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) or SEC1
 * ({@code BEGIN EC PRIVATE KEY}) form. Other blocks in the same file (EC parameters, a key next
 * to the chain) are skipped.
 */
public final class PemFiles {
    private PemFiles() {}

    /** @throws PemException naming the file when it cannot be read */
    public static byte[] read(Path file) throws PemException {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PemException(file + ": cannot read (" + io.moosicbox.lb.config.FileErrors.describe(file, e) + ")", e);
        }
    }

    /** The certificates in file order (leaf first, as in a fullchain.pem). */
    public static List<X509Certificate> certificates(Path file, byte[] pem) throws PemException {
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object block : blocks(file, pem)) {
            if (block instanceof X509CertificateHolder holder) {
                try {
                    chain.add(converter.getCertificate(holder));
                } catch (GeneralSecurityException e) {
                    throw new PemException(file + ": certificate " + (chain.size() + 1) + " is not a valid X.509 certificate: " + e.getMessage(), e);
                }
            }
        }
        if (chain.isEmpty()) {
            throw new PemException(file + ": no PEM certificate found (expected -----BEGIN CERTIFICATE-----)");
        }
        return chain;
    }

    /** The first private key of the file. */
    public static PrivateKey privateKey(Path file, byte[] pem) throws PemException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        for (Object block : blocks(file, pem)) {
            try {
                if (block instanceof PEMKeyPair pair) {
                    // SEC1 EC keys may leave out the public key, which the key pair conversion needs.
                    return pair.getPublicKeyInfo() == null ? converter.getPrivateKey(pair.getPrivateKeyInfo())
                            : converter.getKeyPair(pair).getPrivate();
                }
                if (block instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
            } catch (IOException e) {
                throw new PemException(file + ": unsupported private key: " + e.getMessage(), e);
            }
            if (block instanceof PEMEncryptedKeyPair || block instanceof PKCS8EncryptedPrivateKeyInfo) {
                throw new PemException(file + ": the private key is encrypted; decrypt it first, e.g. openssl pkey -in "
                        + file.getFileName() + " -out key.pem");
            }
        }
        throw new PemException(file + ": no PEM private key found (expected -----BEGIN PRIVATE KEY-----, "
                + "-----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)");
    }

    private static List<Object> blocks(Path file, byte[] pem) throws PemException {
        List<Object> blocks = new ArrayList<>();
        // A byte-order mark (editors on Windows write one, also in front of a block pasted in the
        // middle) would hide the BEGIN line after it: openssl skips it, and so does this.
        String text = new String(pem, StandardCharsets.UTF_8).replace("\uFEFF", "");
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            for (Object block = parser.readObject(); block != null; block = parser.readObject()) {
                blocks.add(block);
            }
        } catch (IOException | RuntimeException e) {
            throw new PemException(file + ": not valid PEM: " + e.getMessage(), e);
        }
        return blocks;
    }
}
