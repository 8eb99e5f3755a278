import CMeerkat

/// A fixed pool of TLS sessions (`Limits.tlsSlots`). A session is an mbedTLS context with
/// its record buffers; it is set up the first time the pool hands it out and afterwards
/// only reset, so a connection never allocates one. The pool also keeps, per session, the
/// slot using it and the handshakes in progress, oldest first (handshake timeout, and
/// reclaim when the pool runs dry).
struct TlsSessionPool {
    let capacity: Int
    private let sessions: UnsafeMutablePointer<OpaquePointer?>
    private var free: FreeIndices
    /// The slot each session serves.
    let owner: UnsafeMutablePointer<Int32>
    var freeCount: Int { free.count }
    var lowestFree: Int { free.lowest }
    /// Sessions whose handshake is under way, by when it started.
    var handshaking: SlotQueue

    init(capacity requested: Int) {
        capacity = max(requested, 0)
        let n = max(capacity, 1)
        sessions = .allocate(capacity: n)
        sessions.initialize(repeating: nil, count: n)
        free = FreeIndices(capacity: capacity)
        owner = .allocate(capacity: n)
        owner.initialize(repeating: -1, count: n)
        handshaking = SlotQueue(capacity: n)
    }

    /// A free session for `slot`, or nil when all are in use (or one cannot be made).
    mutating func take(for slot: Int32) -> Int32? {
        guard let i = free.next else { return nil }
        if sessions[Int(i)] == nil {
            sessions[Int(i)] = mk_tls_session_new()
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

    func deallocate() {
        for i in 0..<capacity { mk_tls_session_free(sessions[i]) }
        sessions.deallocate()
        free.deallocate()
        owner.deallocate()
        handshaking.deallocate()
    }
}
