/// The loop a protocol runs over a connection's receive buffer: it frames and delivers
/// one unit at a time (a request, a response, a frame) while the connection still
/// serves, with `.inHandler` set so that what a handler does meanwhile (a failed reply,
/// a close) is finished by the loop after it, not inside it.
extension Manager {
    /// Open and neither closing, draining nor lingering: input is still worth handling.
    func stillServing(_ s: Int32) -> Bool {
        let f = slots[Int(s)].flags
        return slots[Int(s)].kind.isConnection && !f.contains(.closing) && !f.contains(.draining)
            && !f.contains(.lingering)
    }

    /// Runs `next` while `s` still serves, has received bytes waiting, and `more` (the
    /// protocol's own condition) holds. Returns false when `next` stopped (more bytes
    /// needed, or the connection is done), true when the loop's conditions ran out.
    @inline(__always) @discardableResult
    func whileServing(_ s: Int32, _ more: () -> Bool, _ next: () -> Bool) -> Bool {
        slots[Int(s)].flags.insert(.inHandler)
        defer { if slots[Int(s)].kind != .free { slots[Int(s)].flags.remove(.inHandler) } }
        while stillServing(s) && slots[Int(s)].recvBlock >= 0 && slots[Int(s)].recvCount > 0 && more() {
            if !next() { return false }
        }
        return true
    }
}
