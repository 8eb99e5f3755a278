/// Broadcast groups: two WebSocket endpoints on one server (a chat, a sensor feed) each
/// broadcast to their own clients only (`manager.wsBroadcast(data, group:)`).
extension Connection {
    /// The WebSocket's broadcast group, 0 until the app sets one (at `.wsOpen`, from the
    /// upgrade's URI, say). Kept in a byte of the slot; cleared when the connection closes.
    public var wsGroup: UInt8 {
        get { liveSlot.map { manager.slots[Int($0)].ws.group } ?? 0 }
        nonmutating set { if let s = liveSlot { manager.slots[Int(s)].ws.group = newValue } }
    }
}
