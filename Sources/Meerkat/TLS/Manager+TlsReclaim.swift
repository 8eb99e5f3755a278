/// Reclaim for the TLS session pool (the rules are in docs/architecture.md).
extension Manager {
    /// The TLS session pool is empty: closes (close_notify first) the least recently
    /// active idle HTTPS connection, if it has been idle for the grace period.
    func evictIdleForSession() -> Bool {
        let grace = Int64(limits.reclaimGraceMs)
        var oldest: Int32 = -1
        for i in 0..<services.tlsSessions.capacity {
            let o = services.tlsSessions.owner[i]
            guard o >= 0, slots[Int(o)].tls.phase == .open, idleQueue.contains(o), isServedPeer(o) && holdsOnlyItsPlace(o),
                now - idleQueue.stamp(o) >= grace
            else { continue }
            if oldest < 0 || idleQueue.stamp(o) < idleQueue.stamp(oldest) { oldest = o }
        }
        guard oldest >= 0 else { return false }
        evictIdle(oldest, "idle connection closed to make room: every TLS session is in use")
        return true
    }
}
