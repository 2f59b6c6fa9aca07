package io.moosicbox.lb.server;

import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A client connection that keeps its read interest registered from one request to the next, as
 * HAProxy and nginx do. Jetty drops a connection's read interest each time it fires and adds it
 * back when the next request is wanted: two {@code epoll_ctl} calls per keep-alive request, and
 * the second made from the backend's thread, through a hand-off to the listener's selector
 * (docs/benchmarks.md, "Keeping read interest").
 *
 * <p>The interest stays only while a reader waits for it. When bytes arrive with nobody to read
 * them (a pipelined request, or the client's close, while the response is on its way) the interest
 * is dropped as Jetty drops it, so that unread bytes cannot wake the selector again and again, and
 * the next reader registers it again the usual way.
 */
final class ReadKeepingEndPoint extends SocketChannelEndPoint {
    private final Object lock = new Object();
    private SelectionKey key;
    /** The read interest is registered and was left so: a new reader needs no change. Guarded by lock. */
    private boolean readKept;

    ReadKeepingEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler) {
        super(channel, selector, key, scheduler);
        this.key = key;
    }

    @Override
    public void replaceKey(SelectionKey newKey) {
        super.replaceKey(newKey);
        key = newKey;
    }

    @Override
    public Runnable onSelected() {
        synchronized (lock) {
            // A reader registers itself before it asks for interest (FillInterest.register), so one
            // that arrives after this check finds readKept false and asks as usual.
            boolean reader = isFillInterested();
            Runnable task = super.onSelected();
            if ((key.readyOps() & SelectionKey.OP_READ) != 0) {
                readKept = reader;
                if (reader) {
                    // Undoes the removal super.onSelected() just made; its update is pending, so this
                    // submits nothing, and the selector finds the interest unchanged: no system call.
                    super.needsFillInterest();
                }
            }
            return task;
        }
    }

    @Override
    protected void needsFillInterest() {
        synchronized (lock) {
            if (readKept) {
                return;
            }
        }
        super.needsFillInterest();
    }
}
