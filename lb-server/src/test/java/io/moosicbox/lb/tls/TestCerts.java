package io.moosicbox.lb.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test certificates made at run time with the openssl command line, in the forms users have:
 * PKCS#8, PKCS#1 RSA and SEC1 EC keys, and a chain through an intermediate CA. Nothing private
 * is committed.
 */
final class TestCerts {
    private TestCerts() {}

    /** @param cert the server certificate file, @param key its key, @param ca what a client trusts */
    record Pair(Path cert, Path key, Path ca) {}

    enum KeyForm { RSA_PKCS8, RSA_PKCS1, EC_SEC1, EC_SEC1_NO_PUBLIC, EC_PKCS8 }

    /** A self-signed certificate for {@code name} (and 127.0.0.1) with its key in the given form. */
    static Pair selfSigned(Path dir, String name, KeyForm form) throws IOException {
        Files.createDirectories(dir);
        Path key = dir.resolve(name + "." + form.name().toLowerCase() + ".key");
        Path cert = dir.resolve(name + "." + form.name().toLowerCase() + ".crt");
        switch (form) {
            case RSA_PKCS8 -> Tools.ok(dir, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.toString());
            case RSA_PKCS1 -> Tools.ok(dir, "openssl", "genrsa", "-traditional", "-out", key.toString(), "2048");
            case EC_SEC1 -> Tools.ok(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", key.toString());
            case EC_SEC1_NO_PUBLIC -> {
                Tools.ok(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", key + ".full");
                Tools.ok(dir, "openssl", "ec", "-in", key + ".full", "-no_public", "-out", key.toString());
            }
            case EC_PKCS8 -> Tools.ok(dir, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        }
        Tools.ok(dir, "openssl", "req", "-x509", "-key", key.toString(), "-out", cert.toString(), "-days", "30",
                "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name + ",IP:127.0.0.1");
        return new Pair(cert, key, cert);
    }

    /** A self-signed EC certificate whose DNS names are exactly {@code dnsNames} (wildcards allowed), the first also its CN. */
    static Pair withNames(Path dir, String file, String... dnsNames) throws IOException {
        Files.createDirectories(dir);
        Path key = dir.resolve(file + ".key");
        Path cert = dir.resolve(file + ".crt");
        Tools.ok(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out", key.toString());
        Tools.ok(dir, "openssl", "req", "-x509", "-key", key.toString(), "-out", cert.toString(), "-days", "30",
                "-subj", "/CN=" + dnsNames[0], "-addext", "subjectAltName=DNS:" + String.join(",DNS:", dnsNames));
        return new Pair(cert, key, cert);
    }

    /** Root CA → intermediate CA → leaf for {@code name}; {@code cert} is the fullchain (leaf, intermediate). */
    static Pair chain(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        Path ext = dir.resolve("ext.cnf");
        Files.writeString(ext, """
                [ca]
                basicConstraints=critical,CA:TRUE
                keyUsage=critical,keyCertSign,cRLSign
                [leaf]
                basicConstraints=CA:FALSE
                subjectAltName=DNS:%s,IP:127.0.0.1
                """.formatted(name));
        String[] ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};
        Tools.ok(dir, Tools.concat(java.util.List.of("openssl", "req", "-x509"), concat(ec, "-keyout", "root.key", "-out", "root.pem",
                "-days", "30", "-subj", "/CN=Test Root CA")));
        Tools.ok(dir, Tools.concat(java.util.List.of("openssl", "req"), concat(ec, "-keyout", "int.key", "-out", "int.csr",
                "-subj", "/CN=Test Intermediate CA")));
        Tools.ok(dir, "openssl", "x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
                "-out", "int.pem", "-days", "30", "-extfile", "ext.cnf", "-extensions", "ca");
        Tools.ok(dir, Tools.concat(java.util.List.of("openssl", "req"), concat(ec, "-keyout", "leaf.key", "-out", "leaf.csr",
                "-subj", "/CN=" + name)));
        Tools.ok(dir, "openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial",
                "-out", "leaf.pem", "-days", "30", "-extfile", "ext.cnf", "-extensions", "leaf");
        Path fullchain = dir.resolve("fullchain.pem");
        Files.writeString(fullchain, Files.readString(dir.resolve("leaf.pem")) + Files.readString(dir.resolve("int.pem")));
        return new Pair(fullchain, dir.resolve("leaf.key"), dir.resolve("root.pem"));
    }

    /** A certificate that expired yesterday (openssl 3.0 cannot date one in the past). */
    static Pair expired(Path dir, String name) throws Exception {
        Files.createDirectories(dir);
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        KeyPair pair = generator.generateKeyPair();
        X500Name subject = new X500Name("CN=" + name);
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(Duration.ofDays(30))), Date.from(now.minus(Duration.ofDays(1))), subject, pair.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, name)));
        var holder = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
        Path cert = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        Files.writeString(cert, pem(holder));
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pair.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return new Pair(cert, key, cert);
    }

    private static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(w)) {
            writer.writeObject(o);
        }
        return w.toString();
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** A client context that accepts any certificate: the tests' own are self-signed. */
    static javax.net.ssl.SSLContext trustAll() throws Exception {
        javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
        context.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
            @Override
            public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

            @Override
            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                return new java.security.cert.X509Certificate[0];
            }
        }}, new java.security.SecureRandom());
        return context;
    }
}
