/// A connection's (or listener's) TLS state in its slot: four bytes.
struct TlsState {
    enum Phase: UInt8 {
        /// Plain TCP.
        case none
        /// A TLS listener, or a connection it accepted that has no session yet: TLS
        /// starts after `.accept` (with the listener's options or the handler's `tlsInit`).
        case required
        case handshaking
        case open
        /// close_notify sent: nothing more is written.
        case notified
    }

    var phase: Phase = .none
    /// The config (index in `TlsConfigTable`) a listener gives its connections, or a
    /// client's own (its sessions are kept per server and config); -1 none.
    var config: Int8 = -1
    /// The session (index in `TlsSessionPool`) a connection holds; -1 none.
    var session: Int16 = -1

    var hasSession: Bool { session >= 0 }

    /// Whether `bytes` begin with a whole TLS record: a 5-byte header (type, version,
    /// length) and the length it gives (RFC 8446 §5.1).
    static func holdsWholeRecord(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 5 else { return false }
        return 5 + (Int(bytes[3]) << 8 | Int(bytes[4])) <= bytes.count
    }
}
