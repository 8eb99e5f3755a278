import CMeerkat

/// Reclaim of whole connections: when the connection table or the TLS session pool is
/// full, an HTTP connection that holds nothing but its place gives it to the newcomer,
/// least recently active first: one silent since it connected at once (a client sends
/// its request as it connects; the newest silent ones are the last to go), one idle
/// between requests once it has been for `Limits.reclaimGraceMs`. nginx does the same
/// with idle keep-alive connections when it runs out of them, and a client retries a
/// request on a keep-alive connection the server closed. WebSockets, MQTT, streams,
/// the app's own clients and watched descriptors are never taken this way, nor a
/// connection with a request or a reply under way. Failing those, a peer waiting for a
/// receive block with only part of a request sent. Those two never had an answer: they
/// get the 503 a newcomer gets when the table is full, not a bare close. Without
/// pressure the idle timeout applies.
extension Manager {
    /// The table is full: closes the least recently active HTTP connection that is
    /// silent (answered 503: its request may be on its way), or idle for the grace
    /// period. True when a place was made. A peer whose
    /// whole request waits for a receive block is not idle: it waits for us. (A grace for
    /// silent ones too would let a peer that reconnects as fast as it is closed keep
    /// every place young, and everyone else out.) It looks through the whole queue if it
    /// must: idle WebSockets and stalled requests never leave its front, and a bounded
    /// look would stop at them. That costs a walk of the table per newcomer, and only
    /// while the table is full.
    func evictIdleForTable() -> Bool {
        let grace = Int64(limits.reclaimGraceMs)
        var o = idleQueue.first
        while o >= 0 {
            if isServedPeer(o) && holdsOnlyItsPlace(o) && !slots[Int(o)].flags.contains(.unitWaiting) {
                if isSilent(o) {
                    evictUnanswered(o, "silent connection answered 503 to make room: the connection table is full")
                    return true
                }
                if now - idleQueue.stamp(o) >= grace {
                    evictIdle(o, "idle connection closed to make room: the connection table is full")
                    return true
                }
            }
            o = idleQueue.after(o)
        }
        return evictPartWaiter()
    }

    /// Else, of the peers waiting for a receive block with only part of a request (frame,
    /// record) in their socket, the one that has waited longest: a table full of peers
    /// trickling halves, each sent again on a new connection when closed, would
    /// otherwise shut everyone out, or put them at the back of a queue that moves one
    /// block per grace. At once, as for silent ones: with a grace, peers reconnecting as
    /// fast as they are closed would keep every waiter young. Its bytes were never read:
    /// for the peer it is a request answered 503 before it was whole. Only an HTTP
    /// connection with nothing under way: a WebSocket waiting with half a frame in its
    /// socket is never taken, as no WebSocket is (its peer may be mid-message).
    private func evictPartWaiter() -> Bool {
        var o = recvWaiters.first
        while o >= 0 {
            let next = recvWaiters.after(o)
            if !slots[Int(o)].flags.contains(.unitWaiting) && isServedPeer(o) && holdsOnlyItsPlace(o) {
                // Looked at again: the rest of an honest split request may have come
                // since it began to wait. Then it joins the ready group instead.
                if peekWholeUnit(o) {
                    recvWaiters.append(o, ready: true)
                } else {
                    evictUnanswered(o, "connection answered 503 to make room: the connection table is full and its request is not all here")
                    return true
                }
            }
            o = next
        }
        return false
    }

    /// Nothing heard from `o` since it connected, not even bytes still in its socket:
    /// a connection accepted in the same turn as the newcomer has usually sent its
    /// request, only not been read yet, and is no silent one. (One byte looked at, only
    /// while the table is full.)
    private func isSilent(_ o: Int32) -> Bool {
        guard !slots[Int(o)].flags.contains(.heard) else { return false }
        var byte: UInt8 = 0
        guard mk_peek(slots[Int(o)].fd, &byte, 1) > 0 else { return true }
        slots[Int(o)].flags.insert(.heard)
        return false
    }

    /// `o` has sent part of a request, or nothing yet, and never had an answer to it: it
    /// is answered as a newcomer the table has no room for is (503 from the reserve,
    /// which waits for the peer's FIN so the answer is not lost to a reset). A silent
    /// one's request is often on its way: a client sends it as soon as its handshake is
    /// done, so it comes one round trip after the server can accept, and a bare close
    /// left fresh clients with no answer under a body trickle (1 GET in 12 on
    /// rpi3-armhf; all but 2 of 12 with 50 ms between connect and request, on the host).
    /// A TLS connection has no session to answer in yet: it is closed, as `reject` does.
    private func evictUnanswered(_ o: Int32, _ why: StaticString) {
        guard slots[Int(o)].proto == .http && transportIsPlain(o) else { return evictIdle(o, why) }
        evictions += 1
        deliverError(o, why)
        let fd = slots[Int(o)].fd
        poller.remove(fd)
        slots[Int(o)].fd = -1  // the socket is the reserve's now: closeNow leaves it open
        closeNow(o)
        reject(fd, answer: true)
    }

    func evictIdle(_ o: Int32, _ why: StaticString) {
        evictions += 1
        deliverError(o, why)
        closeNow(o)  // a TLS session sends close_notify as it ends
    }
}
