package io.moosicbox.lb.pool.selection;

import io.moosicbox.lb.pool.Backend;
import io.moosicbox.lb.pool.RequestInfo;
import java.util.Arrays;
import java.util.List;

/**
 * A hash ring with virtual nodes (ketama style): the same key goes to the same backend while it
 * is ready; a backend that leaves (down, drained, removed) moves only its own keys, to the next
 * point on the ring. Virtual nodes scale with weight.
 */
public final class ConsistentHashSelector implements Selector {
    /** Points on the ring per unit of weight: enough for an even spread (within a few percent). */
    static final int POINTS_PER_WEIGHT = 160;

    private final HashKey key;
    private final long[] points;
    private final Backend[] owners;

    /** @param all every backend of the cluster: the ring is built once, and candidates are walked past */
    public ConsistentHashSelector(List<Backend> all, HashKey key) {
        this.key = key;
        int total = 0;
        for (Backend b : all) {
            total += b.weight() * POINTS_PER_WEIGHT;
        }
        long[] hashes = new long[total];
        Backend[] byPoint = new Backend[total];
        int k = 0;
        for (Backend b : all) {
            for (int v = 0; v < b.weight() * POINTS_PER_WEIGHT; v++) {
                // Points depend only on the address: a reload that keeps a backend keeps its keys.
                hashes[k] = hash(b.address() + "#" + v);
                byPoint[k] = b;
                k++;
            }
        }
        Integer[] order = new Integer[total];
        for (int i = 0; i < total; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compare(hashes[x], hashes[y]));
        this.points = new long[total];
        this.owners = new Backend[total];
        for (int i = 0; i < total; i++) {
            points[i] = hashes[order[i]];
            owners[i] = byPoint[order[i]];
        }
    }

    @Override
    public Backend select(List<Backend> candidates, RequestInfo request) {
        if (points.length == 0) {
            return candidates.get(0);
        }
        int at = Arrays.binarySearch(points, hash(key.of(request)));
        if (at < 0) {
            at = -at - 1;
        }
        for (int step = 0; step < points.length; step++) {
            int i = at + step;
            Backend owner = owners[i < points.length ? i : i - points.length];
            if (isCandidate(owner, candidates)) {
                return owner;
            }
        }
        // Only candidates outside the ring (not backends of this cluster): any will do.
        return candidates.get(0);
    }

    private static boolean isCandidate(Backend b, List<Backend> candidates) {
        for (int i = 0, n = candidates.size(); i < n; i++) {
            if (candidates.get(i) == b) {
                return true;
            }
        }
        return false;
    }

    /** FNV-1a over the chars, then a murmur3 finaliser for avalanche; no allocation. */
    static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0, n = s.length(); i < n; i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9a64ea0c00bL;
        h ^= h >>> 33;
        return h;
    }
}
