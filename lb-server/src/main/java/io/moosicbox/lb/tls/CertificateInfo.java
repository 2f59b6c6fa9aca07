package io.moosicbox.lb.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * What a served certificate is, for logs, the admin API and the expiry metric.
 *
 * @param name     the first DNS name (or the CN when there is none): what the certificate is for
 * @param subject  the subject's distinguished name
 * @param dnsNames the DNS subject alternative names that SNI matches against
 * @param file     the certificate file as configured
 * @param notAfter when it expires; still served after that, with a warning
 */
public record CertificateInfo(String name, String subject, List<String> dnsNames, String file, Instant notBefore,
                              Instant notAfter) {

    public CertificateInfo {
        dnsNames = List.copyOf(dnsNames);
    }

    static CertificateInfo of(X509Certificate leaf, String file) {
        List<String> dns = dnsNames(leaf);
        String subject = leaf.getSubjectX500Principal().getName();
        String name = dns.isEmpty() ? commonName(subject) : dns.get(0);
        return new CertificateInfo(name, subject, dns, file, leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
    }

    public boolean expired(Instant now) {
        return now.isAfter(notAfter);
    }

    private static List<String> dnsNames(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(2).equals(san.get(0))) {
                        names.add((String) san.get(1));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // a certificate without readable names is still served; it is named by its subject
        }
        return names;
    }

    private static String commonName(String subject) {
        try {
            for (Rdn rdn : new LdapName(subject).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            // fall back to the whole subject
        }
        return subject;
    }
}
