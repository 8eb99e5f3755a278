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
