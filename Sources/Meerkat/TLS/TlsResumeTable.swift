import CMeerkat

/// Client-side TLS resumption: the last session with each server a client connected to,
/// so the next connection to it (a Reconnector's, `fetch --repeat --new-connections`)
/// resumes with the server's ticket (or session ID) instead of a full handshake. A client
/// entry lives only as long as its connection, so the sessions live here, in a small
/// fixed table of `Limits.maxClients` entries keyed by host, port and TLS config (the CA
/// and name checks a session was verified under), the least recently used replaced.
/// Each entry's mbedTLS session holder is made the first time the entry is used and kept;
/// a reconnect allocates only what mbedTLS itself copies (the ticket).
struct TlsResumeTable {
    private struct Entry {
        var host = ""
        var port = 0
        var config: Int32 = -1
        /// When it was last saved or offered (a counter), for replacing the oldest.
        var used: UInt64 = 0
        var saved: OpaquePointer? = nil
    }

    let capacity: Int
    private let entries: UnsafeMutablePointer<Entry>
    private var clock: UInt64 = 0

    init(capacity requested: Int) {
        capacity = max(requested, 0)
        entries = .allocate(capacity: max(capacity, 1))
        entries.initialize(repeating: Entry(), count: max(capacity, 1))
    }

    private func find(_ host: String, _ port: Int, _ config: Int32) -> Int? {
        for i in 0..<capacity
        where entries[i].saved != nil && entries[i].config == config && entries[i].port == port
            && entries[i].host == host
        {
            return i
        }
        return nil
    }

    /// Offers the session saved for this server to `session` (started, before its
    /// handshake): true when one was offered.
    mutating func offer(_ session: OpaquePointer, host: String, port: Int, config: Int32) -> Bool {
        guard let i = find(host, port, config), mk_tls_resume(session, entries[i].saved) == 0 else { return false }
        clock += 1
        entries[i].used = clock
        return true
    }

    /// After a client's handshake: keeps its session for this server, in its entry or
    /// the least recently used one.
    mutating func save(_ session: OpaquePointer, host: String, port: Int, config: Int32) {
        guard capacity > 0 else { return }
        let i = find(host, port, config) ?? oldest()
        if entries[i].saved == nil {
            entries[i].saved = mk_tls_saved_new()
            if entries[i].saved == nil { return }
        }
        if entries[i].host != host || entries[i].port != port || entries[i].config != config {
            entries[i].host = host  // a new server for this entry: its name, once
            entries[i].port = port
            entries[i].config = config
        }
        clock += 1
        entries[i].used = clock
        if mk_tls_save(session, entries[i].saved) != 0 { forget(host: host, port: port, config: config) }
    }

    /// A handshake that failed: its server's session is not offered again.
    mutating func forget(host: String, port: Int, config: Int32) {
        guard let i = find(host, port, config) else { return }
        mk_tls_saved_clear(entries[i].saved)
        entries[i].config = -1
    }

    private func oldest() -> Int {
        var o = 0
        for i in 0..<capacity {
            if entries[i].saved == nil || entries[i].config < 0 { return i }
            if entries[i].used < entries[o].used { o = i }
        }
        return o
    }

    func deallocate() {
        for i in 0..<capacity { mk_tls_saved_free(entries[i].saved) }
        entries.deinitialize(count: max(capacity, 1))
        entries.deallocate()
    }
}
