package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    @Test
    void nothingSentIsRetriedWhateverTheMethod() {
        assertTrue(RetryPolicy.permits("POST", true, false, false, false, 0, 2));
        assertTrue(RetryPolicy.permits("PATCH", true, false, false, true, 1, 2), "a connect timeout too");
    }

    @Test
    void sentIsRetriedOnlyWhenIdempotentWithoutBodyAndUnanswered() {
        for (String method : new String[] {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}) {
            assertTrue(RetryPolicy.permits(method, false, true, false, false, 0, 2), method);
            assertFalse(RetryPolicy.permits(method, true, true, false, false, 0, 2), method + " with a body");
        }
        assertFalse(RetryPolicy.permits("POST", false, true, false, false, 0, 2));
        assertFalse(RetryPolicy.permits("GET", false, true, true, false, 0, 2), "an answer began");
        assertFalse(RetryPolicy.permits("GET", false, true, false, true, 0, 2), "timed out: no second wait");
    }

    @Test
    void boundedByTheRetries() {
        assertFalse(RetryPolicy.permits("GET", false, false, false, false, 2, 2));
        assertFalse(RetryPolicy.permits("GET", false, false, false, false, 0, 0));
    }
}
