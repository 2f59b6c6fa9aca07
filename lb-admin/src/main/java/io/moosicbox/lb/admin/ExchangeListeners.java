package io.moosicbox.lb.admin;

import io.moosicbox.lb.proxy.Exchange;
import io.moosicbox.lb.proxy.ExchangeListener;
import java.util.List;

/** The proxy has one listener slot; metrics and the access log share it. */
final class ExchangeListeners {
    private ExchangeListeners() {}

    static ExchangeListener of(List<ExchangeListener> listeners) {
        ExchangeListener[] all = listeners.toArray(ExchangeListener[]::new);
        if (all.length == 1) {
            return all[0];
        }
        return new ExchangeListener() {
            @Override
            public void onComplete(Exchange exchange) {
                for (ExchangeListener l : all) {
                    l.onComplete(exchange);
                }
            }

            @Override
            public void onSessionOpen(Exchange handshake) {
                for (ExchangeListener l : all) {
                    l.onSessionOpen(handshake);
                }
            }

            @Override
            public void onSessionEnd(Exchange session) {
                for (ExchangeListener l : all) {
                    l.onSessionEnd(session);
                }
            }
        };
    }
}
