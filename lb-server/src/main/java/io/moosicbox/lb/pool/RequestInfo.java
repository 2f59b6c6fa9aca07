package io.moosicbox.lb.pool;

/** What a selection algorithm may know of a request, without depending on the servlet API. */
public interface RequestInfo {
    RequestInfo NONE = new RequestInfo() {
        @Override
        public String clientAddress() {
            return "";
        }

        @Override
        public String header(String name) {
            return null;
        }

        @Override
        public String cookie(String name) {
            return null;
        }
    };

    String clientAddress();

    /** @return the first value of the header, or null */
    String header(String name);

    /** @return the cookie's value, or null */
    String cookie(String name);
}
