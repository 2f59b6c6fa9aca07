package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The served certificates, read from their PEM files into an in-memory KeyStore (Jetty reads no
 * PEM). Remembers a digest of the bytes it was built from, so that a watcher can tell whether
 * the files changed whatever way they were replaced (rewritten, renamed over, symlink re-pointed).
 *
 * @param defaultAlias the first certificate's alias: served when the SNI matches no other
 */
public record CertificateSet(KeyStore keyStore, String defaultAlias, List<CertificateInfo> certificates, byte[] digest) {
    /** The KeyStore never leaves memory; Jetty's API still wants a password for it. */
    static final String PASSWORD = "in-memory";

    public CertificateSet {
        certificates = List.copyOf(certificates);
    }

    /** @throws PemException for the first pair that cannot be served, naming its file */
    public static CertificateSet load(List<LbConfig.CertificatePair> pairs) throws PemException {
        try {
            KeyStore keyStore = KeyStore.getInstance("PKCS12");
            keyStore.load(null, null);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            List<CertificateInfo> infos = new ArrayList<>();
            for (int i = 0; i < pairs.size(); i++) {
                LbConfig.CertificatePair pair = pairs.get(i);
                Path certFile = Path.of(pair.cert());
                Path keyFile = Path.of(pair.key());
                byte[] certPem = PemFiles.read(certFile);
                byte[] keyPem = PemFiles.read(keyFile);
                sha.update(certPem);
                sha.update(keyPem);
                List<X509Certificate> chain = PemFiles.certificates(certFile, certPem);
                PrivateKey key = PemFiles.privateKey(keyFile, keyPem);
                if (!matches(key, chain.get(0).getPublicKey())) {
                    throw new PemException(keyFile + ": this private key does not belong to the first certificate of "
                            + certFile + " (" + chain.get(0).getSubjectX500Principal().getName() + ")");
                }
                keyStore.setKeyEntry(alias(i), key, PASSWORD.toCharArray(), chain.toArray(X509Certificate[]::new));
                infos.add(CertificateInfo.of(chain.get(0), pair.cert()));
            }
            return new CertificateSet(keyStore, alias(0), infos, sha.digest());
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new PemException("cannot build the in-memory key store: " + e.getMessage(), e);
        }
    }

    static String alias(int index) {
        return "cert-" + (index + 1);
    }

    /** Where the certificate of {@code alias} is in the configured list: SNI prefers the earlier of two equal matches. */
    static int position(String alias) {
        return Integer.parseInt(alias.substring("cert-".length())) - 1;
    }

    public boolean sameBytes(byte[] otherDigest) {
        return Arrays.equals(digest, otherDigest);
    }

    /** Signs with the key and verifies with the certificate: works for RSA, EC and EdDSA alike. */
    static boolean matches(PrivateKey key, PublicKey certified) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> "EdDSA";
            default -> null;
        };
        if (algorithm == null) {
            return key.getAlgorithm().equals(certified.getAlgorithm());
        }
        try {
            byte[] probe = "moosicbox-lb key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certified);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
