package io.moosicbox.lb.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;

/** Every admin answer is JSON with {@code Content-Type: application/json}. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private Json() {}

    static byte[] bytes(Object body) {
        try {
            return MAPPER.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static void write(HttpServletResponse response, int status, Object body) throws IOException {
        byte[] bytes = bytes(body);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
    }

    static void error(HttpServletResponse response, int status, String message) throws IOException {
        write(response, status, Map.of("error", message, "status", status));
    }

    static void error(HttpServletResponse response, int status, String message, String key, Object detail) throws IOException {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("error", message);
        body.put("status", status);
        body.put(key, detail);
        write(response, status, body);
    }
}
