package io.moosicbox.lb.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.eclipse.jetty.http.QuotedCSV;
import org.junit.jupiter.api.Test;

class HeaderListsTest {
    @Test
    void oneValueIsSplitAsJettysParserSplitsIt() {
        for (String value : List.of("keep-alive", " close ", "\tX-Own\t", "", "  ", "a, b", "a,,b", "\"x\"", "a;q=1", "a , \"b,c\"")) {
            QuotedCSV csv = new QuotedCSV(false);
            csv.addValue(value);
            assertEquals(csv.getValues(), HeaderLists.of(List.of(value)), "value [" + value + "]");
        }
    }

    @Test
    void aMalformedListIsStillSplit() {
        assertEquals(List.of("1.1.1.1", "2.2.2.2"), HeaderLists.of(List.of("\"1.1.1.1, 2.2.2.2")));
    }
}
