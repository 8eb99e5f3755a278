/// Keep-alive for the connections a server keeps open on purpose (issue 22): a WebSocket
/// with no traffic (either way) for `wsPingIntervalMs` gets a ping, and a server-sent event
/// stream with no traffic a comment line, instead of being cut at the idle timeout with
/// no close frame (a browser's 1006). A WebSocket that still sends nothing, not even the
/// pong, one `idleTimeoutMs` after the ping is closed with 1001.
///
/// No per-slot cost: the idle queue's stamp says how long a connection has been quiet,
/// and two spare flag bits say "pinged, nothing read since" (`.pinged`, cleared by any
/// read) and "this chunked reply is an event stream" (`.eventStream`).
///
/// The idle queue is ordered for one timeout, the idle timeout, so the shorter ping
/// interval is found by a walk from its head over the connections quiet for at least
/// that long, at most four times per interval. The walk passes over idle HTTP
/// connections between the two timeouts (a few times each, then the idle timeout
/// closes them), so its cost is bounded by the connections quiet that long, never
/// paid per poll. A connection the walk has not reached by the idle timeout (an
/// interval close to it) is kept alive by the expiry instead (`keepAlive`).
extension Manager {
    /// An SSE comment line as one chunk of the stream, sent from where it lives (the
    /// ping is an empty frame): nothing allocated per heartbeat.
    private static let heartbeat: StaticString = "3\r\n:\n\n\r\n"

    /// Pings (or sends a heartbeat to) every WebSocket and event stream that has been
    /// quiet for the ping interval, when the walk is due.
    func keepIdleAlive() {
        let interval = Int64(limits.wsPingIntervalMs)
        guard interval > 0, now >= services.keepAliveDue else { return }
        var s = idleQueue.first
        while s >= 0 && now - idleQueue.stamp(s) >= interval {
            let next = idleQueue.after(s)  // before `s` moves to the tail
            if !slots[Int(s)].flags.contains(.pinged) && wantsKeepAlive(s) { _ = keepAlive(s) }
            s = next
        }
        // The first connection not yet quiet long enough comes due at its stamp plus the
        // interval (a new one later still); no sooner than a quarter interval from now,
        // so the connections passed over are not walked again at once.
        let due = s >= 0 ? idleQueue.stamp(s) + interval : now + interval
        services.keepAliveDue = max(due, now + max(interval / 4, 1))
    }

    /// Whether `s` is a connection the server keeps alive: a WebSocket it accepted (our
    /// own clients ping for themselves) not closing, or an open event stream.
    private func wantsKeepAlive(_ s: Int32) -> Bool {
        let slot = slots + Int(s)  // not a copy: a slot holds references
        guard limits.wsPingIntervalMs > 0, slot.pointee.kind == .accepted,
            !slot.pointee.flags.contains(.closing), !slot.pointee.flags.contains(.draining)
        else { return false }
        switch slot.pointee.proto {
        case .websocket: return !slot.pointee.ws.closeSent
        case .http: return isOpenEventStream(s)
        default: return false
        }
    }

    /// Keeps `s` alive one more round, restamped: a ping (marked, so the next time its
    /// silence is the end), or a heartbeat. Closes a WebSocket whose ping went
    /// unanswered with 1001. False when the idle timeout should simply close it: not a
    /// kept connection, or its output stalled (a peer that reads nothing is not kept).
    func keepAlive(_ s: Int32) -> Bool {
        guard wantsKeepAlive(s) else { return false }
        if slots[Int(s)].proto == .websocket {
            if slots[Int(s)].flags.contains(.pinged) {
                // Going away: the frame goes out if the socket takes it, then the close
                // is lingered on; with output stuck, the next expiry closes outright.
                closeWebSocket(s, code: 1001)
                if slots[Int(s)].kind != .free && idleQueue.contains(s) { idleQueue.append(s, now: now) }
                return true
            }
            slots[Int(s)].flags.insert(.pinged)
            // Output still waiting means the peer reads nothing; the ping would only
            // queue behind it. The mark stands all the same.
            if !hasOutput(s) {
                try? sendFrame(s, opcode: UInt8(WEBSOCKET_OP_PING), fin: true, .empty)
            }
        } else {
            guard !hasOutput(s) else { return false }
            let beat = Manager.heartbeat
            do throws(ConnectionError) {
                try enqueue(s, beat.rawBuffer, UnsafeRawBufferPointer(start: nil, count: 0))
            } catch {
                return false
            }
        }
        // A write that failed closed the slot; one that went only in part left the stamp.
        if slots[Int(s)].kind != .free { idleQueue.append(s, now: now) }
        return true
    }
}
