package io.moosicbox.lb.admin;

import jakarta.servlet.http.HttpServletRequest;

/**
 * A servlet whose paths take different methods (a backend's path GET, its drain path POST), so
 * that {@link AllowHeader} names the methods of the path asked rather than all the servlet has.
 */
interface PathMethods {
    /** The methods the request's path takes, as an {@code Allow} value; null when the path has no endpoint. */
    String allowed(HttpServletRequest request);
}
