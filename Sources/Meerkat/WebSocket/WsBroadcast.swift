import CMeerkat

/// Sending one message to every open WebSocket, without the app keeping a list.
extension Manager {
    /// Sends `data` to every open WebSocket connection this side accepted (not to the
    /// WebSockets it opened with `connect`), except `except`. Returns how many got it and
    /// how many were skipped for back-pressure (their send side was full). With `group`,
    /// only the WebSockets whose `conn.wsGroup` is that (one endpoint's, say). Walks the
    /// connection table once.
    @discardableResult
    public func wsBroadcast(
        _ data: some ByteSource, _ op: Int = WEBSOCKET_OP_TEXT,
        except: Connection? = nil, group: UInt8? = nil
    ) -> (reached: Int, skipped: Int) {
        data.withBytes { bytes in
            let payload = Payload(borrowed: bytes)
            var reached = 0, skipped = 0
            let excluded = except.flatMap { live($0) } ?? -1
            for i in 0..<tableSize
            where slots[i].kind == .accepted && slots[i].proto == .websocket {
                let s = Int32(i)
                guard s != excluded, !slots[i].flags.contains(.closing), !slots[i].ws.closeSent else { continue }
                if let group, slots[i].ws.group != group { continue }
                do throws(ConnectionError) {
                    try sendMessage(s, op, payload)
                    reached += 1
                } catch {
                    if error == .sendBufferFull { skipped += 1 }
                }
            }
            return (reached, skipped)
        }
    }
}
