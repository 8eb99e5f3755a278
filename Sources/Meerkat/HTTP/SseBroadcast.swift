/// Sending one server-sent event to every open event stream, without the app keeping a
/// list (as `wsBroadcast` does for WebSockets).
extension Manager {
    /// Sends one event (`event:` line when `event` is not empty, a `data:` line per line
    /// of `data`, as `httpSSE` writes it) to every event stream this side serves (opened
    /// by `httpSSE`, still open), except `except`; the `uri:` form only to the streams
    /// that answer a request for that path. Returns how many got it and how many were
    /// skipped.
    ///
    /// Back-pressure: a stream whose send side cannot take the event now (a peer that
    /// stopped reading, its send block full) is skipped and counted in `skipped`, and
    /// stays open; it misses this event, as a browser's `EventSource` would after a
    /// reconnect, and the idle timeout closes it if it never reads again. An event
    /// larger than a send block (`Limits.sendBufferSize`, with its framing) reaches no
    /// stream: every one is counted as skipped.
    ///
    /// The event is framed once, then queued on each stream (copied where the socket
    /// does not take it at once): nothing is allocated, and the connection table is
    /// walked once. A stream's path is kept as a 32-bit hash, not a copy, so two paths
    /// of one app with the same hash (about one chance in four billion) would share
    /// their broadcasts.
    @discardableResult
    public func sseBroadcast(event: String = "", data: some ByteSource, except: Connection? = nil) -> (
        reached: Int, skipped: Int
    ) {
        broadcastEvent(event, data, path: nil, except: except)
    }

    /// `sseBroadcast(event:data:except:)` to the streams opened on `uri` only (a path as
    /// `hm.uri` gives it: pass `hm.uri` itself, or a string).
    @discardableResult
    public func sseBroadcast(
        event: String = "", data: some ByteSource, uri: some ByteSource, except: Connection? = nil
    ) -> (reached: Int, skipped: Int) {
        broadcastEvent(event, data, path: uri.withBytes { Manager.pathHash($0) }, except: except)
    }

    private func broadcastEvent(
        _ event: String, _ data: some ByteSource, path: UInt32?, except: Connection?
    ) -> (reached: Int, skipped: Int) {
        let excluded = except.flatMap { live($0) } ?? -1
        return event.withBytes { name in
            data.withBytes { bytes in
                var w = ByteWriter(base: headScratch, capacity: limits.sendBufferSize)
                Manager.appendChunk(&w, sse: true, event: name, data: bytes)
                var reached = 0, skipped = 0
                for i in 0..<tableSize where isOpenEventStream(Int32(i)) && Int32(i) != excluded {
                    if let path, slots[i].streamPath != path { continue }
                    do throws(ConnectionError) {
                        guard !w.overflowed else { throw .sendBufferFull }
                        try enqueue(Int32(i), w.written, UnsafeRawBufferPointer(start: nil, count: 0))
                        reached += 1
                    } catch {
                        if error == .sendBufferFull { skipped += 1 }
                    }
                }
                return (reached, skipped)
            }
        }
    }

    /// An accepted connection with an event stream open (not a HEAD request's, which
    /// sends no body), not closing.
    func isOpenEventStream(_ s: Int32) -> Bool {
        let slot = slots + Int(s)  // not a copy: a slot holds references
        return slot.pointee.kind == .accepted && slot.pointee.proto == .http
            && slot.pointee.http.flags.isSuperset(of: [.chunkedReply, .eventStream])
            && !slot.pointee.http.flags.contains(.headRequest) && stillServing(s)
    }

    /// FNV-1a (32 bits) of a request path: what a stream keeps of the path it answers.
    static func pathHash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}
