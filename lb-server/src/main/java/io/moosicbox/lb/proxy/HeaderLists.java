package io.moosicbox.lb.proxy;

import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.QuotedCSV;

/**
 * Comma-separated header values (RFC 9110 5.6.1) split as Jetty's {@link QuotedCSV} does, and
 * still split when a value is malformed (a stray quote): Jetty then throws, and a client's
 * {@code X-Forwarded-For: "} or {@code Forwarded: for="1.1.1.1} passed on by a trusted proxy
 * became a 500, or a request missing from the access log and the metrics.
 */
public final class HeaderLists {
    private HeaderLists() {}

    /** The elements of every value of the header, without quotes; never throws. */
    public static List<String> of(HttpFields fields, HttpHeader header) {
        return of(fields.getValuesList(header));
    }

    /** The elements of the values, without quotes; never throws. */
    public static List<String> of(List<String> values) {
        if (values.isEmpty()) {
            return List.of();
        }
        if (values.size() == 1) {
            // The usual case (a backend's "Connection: keep-alive"): one plain element, read without a parser.
            String value = values.getFirst();
            if (value.indexOf(',') < 0 && value.indexOf('"') < 0 && value.indexOf(';') < 0) {
                String element = value.strip();
                return element.isEmpty() ? List.of() : List.of(element);
            }
        }
        try {
            QuotedCSV csv = new QuotedCSV(false);
            values.forEach(csv::addValue);
            return csv.getValues();
        } catch (IllegalArgumentException malformed) {
            // As nginx reads such a list: split at every comma, quotes dropped.
            List<String> elements = new ArrayList<>();
            for (String value : values) {
                for (String element : value.split(",")) {
                    String e = element.replace("\"", "").trim();
                    if (!e.isEmpty()) {
                        elements.add(e);
                    }
                }
            }
            return elements;
        }
    }
}
