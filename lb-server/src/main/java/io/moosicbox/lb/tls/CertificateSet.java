package io.moosicbox.lb.tls;

import io.moosicbox.lb.config.LbConfig;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The served certificates, read from their PEM files into an in-memory KeyStore (Jetty reads no
 * PEM), in the configured order: the first is served when the SNI matches no other.
 */
public record CertificateSet(List<CertificateSet.Entry> entries, KeyStore keyStore) {
    /** The KeyStore never leaves memory; Jetty's API still wants a password for it. */
    static final String PASSWORD = "in-memory";

    public CertificateSet {
        entries = List.copyOf(entries);
    }

    /** One configured pair as served. */
    record Entry(LbConfig.CertificatePair pair, PrivateKey key, List<X509Certificate> chain, CertificateInfo info) {
        Entry {
            chain = List.copyOf(chain);
        }

        static Entry load(PairFiles files) throws PemException {
            if (files.unreadable() != null) {
                throw files.unreadable();
            }
            Path certFile = Path.of(files.pair().cert());
            Path keyFile = Path.of(files.pair().key());
            List<X509Certificate> chain = PemFiles.certificates(certFile, files.cert());
            PrivateKey key = PemFiles.privateKey(keyFile, files.key());
            if (!matches(key, chain.get(0).getPublicKey())) {
                throw new PemException(keyFile + ": this private key does not belong to the first certificate of "
                        + certFile + " (" + chain.get(0).getSubjectX500Principal().getName() + ")");
            }
            return new Entry(files.pair(), key, chain, CertificateInfo.of(chain.get(0), files.pair().cert()));
        }
    }

    /** @throws PemException for the first pair that cannot be served, naming its file */
    public static CertificateSet load(List<LbConfig.CertificatePair> pairs) throws PemException {
        return of(PairFiles.read(pairs));
    }

    /** @throws PemException for the first pair that cannot be served, naming its file */
    static CertificateSet of(List<PairFiles> files) throws PemException {
        return build(files, null, null);
    }

    /**
     * The pairs read again, each on its own: a pair that cannot be served keeps the entry this set
     * has for the same files, so that one broken pair does not hold back the renewal of the others
     * (nor let them expire while it stays broken).
     *
     * @param problems gets one line per pair that kept its previous entry, naming the file
     * @throws PemException for a pair that cannot be served and has no previous entry (new in the configuration)
     */
    CertificateSet renew(List<PairFiles> files, List<String> problems) throws PemException {
        return build(files, this, problems);
    }

    private static CertificateSet build(List<PairFiles> files, CertificateSet previous, List<String> problems) throws PemException {
        List<Entry> entries = new ArrayList<>();
        for (PairFiles f : files) {
            try {
                entries.add(Entry.load(f));
            } catch (PemException e) {
                Entry kept = previous == null ? null : previous.entryFor(f.pair());
                if (kept == null) {
                    throw e;
                }
                problems.add(e.getMessage());
                entries.add(kept);
            }
        }
        try {
            KeyStore keyStore = KeyStore.getInstance("PKCS12");
            keyStore.load(null, null);
            for (int i = 0; i < entries.size(); i++) {
                Entry e = entries.get(i);
                keyStore.setKeyEntry(alias(i), e.key(), PASSWORD.toCharArray(), e.chain().toArray(X509Certificate[]::new));
            }
            return new CertificateSet(entries, keyStore);
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new PemException("cannot build the in-memory key store: " + e.getMessage(), e);
        }
    }

    private Entry entryFor(LbConfig.CertificatePair pair) {
        return entries.stream().filter(e -> e.pair().equals(pair)).findFirst().orElse(null);
    }

    /** The first certificate's alias. */
    public String defaultAlias() {
        return alias(0);
    }

    /** The certificates in the configured order, the default first. */
    public List<CertificateInfo> certificates() {
        return entries.stream().map(Entry::info).toList();
    }

    static String alias(int index) {
        return "cert-" + (index + 1);
    }

    /** Where the certificate of {@code alias} is in the configured list: SNI prefers the earlier of two equal matches. */
    static int position(String alias) {
        return Integer.parseInt(alias.substring("cert-".length())) - 1;
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
