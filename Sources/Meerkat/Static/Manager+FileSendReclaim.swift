/// Reclaim for the file-send table (the rules are in Core/Reclaim.swift).
extension Manager {
    /// The file-send table is full (`Limits.fileSends`): the sender whose peer has read
    /// nothing for longest gives its entry back and is closed, if for the grace period
    /// (a peer that starts downloads and never reads cannot hold the table).
    func reclaimFileSend(for s: Int32) {
        let grace = Int64(limits.reclaimGraceMs)
        var stalled: Int32 = -1
        for e in 0..<services.fileSends.capacity {
            let o = services.fileSends.entries[e].slot
            guard o >= 0, o != s, sendQueue.contains(o), now - sendQueue.stamp(o) >= grace else { continue }
            if stalled < 0 || sendQueue.stamp(o) < sendQueue.stamp(stalled) { stalled = o }
        }
        if stalled >= 0 { evict(stalled) }
    }
}
