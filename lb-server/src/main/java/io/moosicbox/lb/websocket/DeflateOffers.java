package io.moosicbox.lb.websocket;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.websocket.api.ExtensionConfig;

/**
 * The client's permessage-deflate offer that the balancer accepts (RFC 7692). Jetty takes the
 * first offer whatever its parameters, which is wrong twice: an offer of
 * {@code server_max_window_bits} it answers without the parameter (its compressor always uses
 * 15-bit windows), which is no acceptance of that offer (7.1.2.1), and a parameter it does not
 * know fails the handshake where the offer is to be declined (5). Here the first offer it can
 * honour is taken; with none, the session is not compressed.
 */
final class DeflateOffers {
    static final String PERMESSAGE_DEFLATE = "permessage-deflate";

    private DeflateOffers() {}

    /**
     * @param offered   the client's offers, in its order of preference
     * @param negotiated the extensions Jetty chose, one per name
     * @return the same, with the permessage-deflate offer replaced by the first acceptable one, or left out
     */
    static List<ExtensionConfig> choose(List<ExtensionConfig> offered, List<ExtensionConfig> negotiated) {
        ExtensionConfig accepted = null;
        for (ExtensionConfig offer : offered) {
            if (PERMESSAGE_DEFLATE.equalsIgnoreCase(offer.getName()) && honoured(offer)) {
                accepted = offer;
                break;
            }
        }
        List<ExtensionConfig> chosen = new ArrayList<>(negotiated.size());
        for (ExtensionConfig e : negotiated) {
            if (!PERMESSAGE_DEFLATE.equalsIgnoreCase(e.getName())) {
                chosen.add(e);
            } else if (accepted != null) {
                chosen.add(accepted);
            }
        }
        return chosen;
    }

    /** Parameters Jetty's permessage-deflate takes as they are offered (7.1). */
    private static boolean honoured(ExtensionConfig offer) {
        for (Map.Entry<String, String> p : offer.getParameters().entrySet()) {
            String value = p.getValue();
            boolean valid = switch (p.getKey()) {
                case "client_no_context_takeover", "server_no_context_takeover" -> value == null;
                // A hint that the client can use a smaller window; Jetty's inflater takes any.
                case "client_max_window_bits" -> value == null || value.matches("[89]|1[0-5]");
                default -> false;
            };
            if (!valid) {
                return false;
            }
        }
        return true;
    }
}
