import CMeerkat

/// What a connection operation can fail with. Typed, so Embedded Swift can throw it.
public enum ConnectionError: Error, Equatable {
    /// The connection has closed (or is closing); the handle is stale. The docs'
    /// `RuntimeError` on `ws_send`.
    case closed
    /// The bytes do not fit in the send buffer now: back-pressure. Nothing was queued;
    /// try again after a `.write` event.
    case sendBufferFull
    /// A header name or value with CR, LF, NUL or a non-token name, or a header the
    /// library writes itself (Content-Length, Transfer-Encoding).
    case invalidHeader
    /// The call does not fit the connection's state (e.g. reply on a listener).
    case invalidState
    /// MQTT: every in-flight entry (or its bytes, `Limits.mqttInFlight*`) holds a message
    /// not yet acknowledged: back-pressure. Nothing was sent; try again after an ack.
    case inFlightFull
    /// MQTT: a QoS 1 or 2 message whose topic and payload are more than the whole
    /// in-flight store (`Limits.mqttInFlightBytes`): it could never be kept for a resend,
    /// so waiting would not help (unlike `.inFlightFull`). Nothing was sent.
    case messageTooLarge
    /// MQTT: a topic name with a wildcard, U+0000 or invalid UTF-8, an empty one, or a
    /// filter whose wildcards are misplaced; or a field over 65,535 bytes.
    case invalidTopic
}

/// What `Manager.listen` can fail with.
public enum ListenError: Error, Equatable {
    case badURL
    case tableFull
    /// A TLS scheme on a manager whose `Limits.tlsSlots` is 0.
    case tlsUnavailable
    /// The TLS options could not be used (a certificate or key that does not parse…).
    case tls(TlsError)
    /// The system call failed with this errno (e.g. EADDRINUSE).
    case system(Int32)
}

// Every public error says what it is in words: `print("\(error)")` in Embedded Swift
// prints "(cannot print value in embedded Swift)" for a type without a description.

extension ConnectionError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .closed: return "the connection is closed"
        case .sendBufferFull: return "the send buffer is full"
        case .invalidHeader: return "a header that cannot be sent (CR, LF, NUL or one the library writes)"
        case .invalidState: return "not possible in the connection's state"
        case .inFlightFull: return "MQTT: the in-flight store is full"
        case .messageTooLarge: return "MQTT: the message is larger than the whole in-flight store"
        case .invalidTopic: return "MQTT: not a valid topic or filter"
        }
    }
}

extension ListenError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .badURL: return "bad URL"
        case .tableFull: return "too many listeners"
        case .tlsUnavailable: return "TLS is off (tlsSlots is 0)"
        case let .tls(e): return e.description
        case let .system(code): return systemErrorText(code)
        }
    }
}

/// An errno in words, with its name, for the common ones (`address already in use
/// (EADDRINUSE)`); "system error N" for the others.
func systemErrorText(_ code: Int32) -> String {
    let text: StaticString
    switch code {
    case EADDRINUSE: text = "address already in use (EADDRINUSE)"
    case EADDRNOTAVAIL: text = "address not available on this machine (EADDRNOTAVAIL)"
    case EACCES: text = "permission denied (EACCES)"
    case EPERM: text = "operation not permitted (EPERM)"
    case EMFILE: text = "too many open files in this process (EMFILE)"
    case ENFILE: text = "too many open files in the system (ENFILE)"
    case ENOMEM: text = "out of memory (ENOMEM)"
    case ENOBUFS: text = "no buffer space (ENOBUFS)"
    case EAFNOSUPPORT: text = "address family not supported (EAFNOSUPPORT)"
    case ECONNREFUSED: text = "connection refused (ECONNREFUSED)"
    case ENETUNREACH: text = "network unreachable (ENETUNREACH)"
    case EHOSTUNREACH: text = "host unreachable (EHOSTUNREACH)"
    case ETIMEDOUT: text = "timed out (ETIMEDOUT)"
    case ENOENT: text = "no such file or folder (ENOENT)"
    case EEXIST: text = "already exists (EEXIST)"
    case EISDIR: text = "is a folder (EISDIR)"
    case ENOTDIR: text = "not a folder (ENOTDIR)"
    case ENOSPC: text = "no space left on the device (ENOSPC)"
    case EROFS: text = "read-only file system (EROFS)"
    case EINVAL: text = "invalid argument (EINVAL)"
    default: return "system error \(code)"
    }
    return String(decoding: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), as: UTF8.self)
}
