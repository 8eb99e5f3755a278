import CMeerkat

/// A fixed pool of TLS sessions (`Limits.tlsSlots`, on the boards one per connection
/// slot) and the record-buffer pairs they share (`Limits.tlsBufferPairs`). A session is
/// an mbedTLS context without buffers; it is set up the first time the pool hands it out
/// and afterwards only reset, so a connection never allocates one. It holds a pair while
/// it moves data and parks (gives the pair back) when nothing is in flight: an idle TLS
/// connection costs its context and keys, not 33 KB of buffers. The pool also keeps,
/// per session, the slot using it and the handshakes in progress, oldest first
/// (handshake timeout, and reclaim when the pool runs dry), and the connections waiting
/// for a pair.
struct TlsSessionPool {
    let capacity: Int
    private let sessions: UnsafeMutablePointer<OpaquePointer?>
    private var free: FreeIndices
    /// The record-buffer pairs (tls.c), allocated once.
    let pairs: OpaquePointer?
    /// The slot each session serves.
    let owner: UnsafeMutablePointer<Int32>
    var freeCount: Int { free.count }
    var lowestFree: Int { free.lowest }
    /// Sessions whose handshake is under way with a pair, by when it took it.
    var handshaking: SlotQueue
    /// Connections (slots) waiting for a pair, their sockets unread meanwhile.
    var waiters: WaitQueue
    /// When each session last took a pair (ms, the loop's clock): a holder's stall is
    /// counted from then at the earliest, not from before a wait for the pair that was ours.
    let pairSince: UnsafeMutablePointer<Int64>
    /// Each session's bytes through its socket (`mk_tls_wire_bytes`) when it took its
    /// pair, and at the last look, and when the last look saw them move: a holder
    /// receiving one record in pieces moves no plaintext until the record is whole, yet
    /// is not stalled (`reclaimTlsPair`).
    let wireAtPair: UnsafeMutablePointer<UInt64>
    let wireSeen: UnsafeMutablePointer<UInt64>
    let wireMovedAt: UnsafeMutablePointer<Int64>

    init(capacity requested: Int, pairs pairCount: Int, slots: Int, parking: Bool = true) {
        capacity = max(requested, 0)
        let n = max(capacity, 1)
        sessions = .allocate(capacity: n)
        sessions.initialize(repeating: nil, count: n)
        free = FreeIndices(capacity: capacity)
        pairs = capacity > 0 ? mk_tls_pairs_new(Int32(clamping: pairCount), parking ? 1 : 0) : nil
        if let pairs, parking && mk_tls_pairs_parking(pairs) == 0 {
            // tls.c relies on 2.28's internals: anything else keeps the buffers per connection.
            Log.error("TLS: mbedTLS is not 2.28, so no parking (one pair per connection); its version", Int64(mk_tls_linked_version()))
        }
        owner = .allocate(capacity: n)
        owner.initialize(repeating: -1, count: n)
        handshaking = SlotQueue(capacity: n)
        waiters = WaitQueue(capacity: max(slots, 1))
        pairSince = .allocate(capacity: n)
        pairSince.initialize(repeating: 0, count: n)
        wireAtPair = .allocate(capacity: n)
        wireAtPair.initialize(repeating: 0, count: n)
        wireSeen = .allocate(capacity: n)
        wireSeen.initialize(repeating: 0, count: n)
        wireMovedAt = .allocate(capacity: n)
        wireMovedAt.initialize(repeating: 0, count: n)
    }

    /// A free session for `slot`, or nil when all are in use (or one cannot be made).
    mutating func take(for slot: Int32) -> Int32? {
        guard let pairs, let i = free.next else { return nil }
        if sessions[Int(i)] == nil {
            sessions[Int(i)] = mk_tls_session_new(pairs)
            if sessions[Int(i)] == nil { return nil }  // stays free: nothing was taken
        }
        _ = free.take()
        owner[Int(i)] = slot
        return i
    }

    mutating func give(_ i: Int32) {
        handshaking.remove(i)
        owner[Int(i)] = -1
        free.give(i)
    }

    func session(_ i: Int32) -> OpaquePointer { sessions[Int(i)]! }

    /// Session `i` took a pair at `now`: its hold and its progress count from here.
    func tookPair(_ i: Int32, now: Int64) {
        let wire = mk_tls_wire_bytes(session(i))
        pairSince[Int(i)] = now
        wireAtPair[Int(i)] = wire
        wireSeen[Int(i)] = wire
        wireMovedAt[Int(i)] = now
    }

    /// When session `i` last moved bytes through its socket, as far as looks tell (each
    /// look that finds its count changed stamps it then).
    func wireMoved(_ i: Int32, now: Int64) -> Int64 {
        let wire = mk_tls_wire_bytes(session(i))
        if wire != wireSeen[Int(i)] {
            wireSeen[Int(i)] = wire
            wireMovedAt[Int(i)] = now
        }
        return wireMovedAt[Int(i)]
    }

    /// Session `i`'s bytes a second through its socket since it took its pair.
    func wireRate(_ i: Int32, now: Int64) -> UInt64 {
        let moved = mk_tls_wire_bytes(session(i)) &- wireAtPair[Int(i)]
        return min(moved, 1 << 40) * 1000 / UInt64(max(now - pairSince[Int(i)], 1))
    }

    /// Pairs free now; whether sessions park at all (the linked mbedTLS is the one
    /// tls.c was written for).
    var freePairs: Int { pairs.map { Int(mk_tls_pairs_free_count($0)) } ?? 0 }
    var parking: Bool { pairs.map { mk_tls_pairs_parking($0) != 0 } ?? false }

    /// The pairs, for `Manager.stats`.
    var pairStats: PoolStats {
        guard let pairs else { return PoolStats(blocks: 0, free: 0, lowestFree: 0) }
        return PoolStats(
            blocks: Int(mk_tls_pairs_count(pairs)), free: Int(mk_tls_pairs_free_count(pairs)),
            lowestFree: Int(mk_tls_pairs_lowest_free(pairs)))
    }

    func deallocate() {
        for i in 0..<capacity { mk_tls_session_free(sessions[i]) }  // before the pairs they hold
        mk_tls_pairs_free(pairs)
        sessions.deallocate()
        free.deallocate()
        owner.deallocate()
        handshaking.deallocate()
        waiters.deallocate()
        pairSince.deallocate()
        wireAtPair.deallocate()
        wireSeen.deallocate()
        wireMovedAt.deallocate()
    }
}
