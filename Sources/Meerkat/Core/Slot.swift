import CMeerkat

/// One entry of the connection table: everything the manager knows about a socket.
/// A slot holds no I/O buffer of its own; it borrows pool blocks while bytes are pending.
struct Slot {
    /// What a slot is, said in one place.
    enum Kind: UInt8 {
        case free
        case listener
        /// A connection a peer opened to one of our listeners.
        case accepted
        /// A connection the app opened (`connect`: TCP, HTTP, WebSocket, MQTT): its
        /// client-table entry is `client`.
        case client
        /// A UDP socket the app opened (`connect("udp://…")`): a send is a datagram.
        case datagram
        /// A descriptor the app handed over (`watch`: a pipe, a tty, a socket): no idle
        /// timeout, never reclaimed.
        case watched
        /// A 503 on its way out while the table is full (invisible to handlers).
        case rejecting

        /// Carries a handler's traffic (not free, a listener, or a 503).
        var isConnection: Bool { self == .accepted || self == .client || self == .datagram || self == .watched }
        /// Opened by the app, with a client-table entry.
        var isOurs: Bool { self == .client || self == .datagram }
    }

    /// The loop's own bits (lifecycle, buffers, reclaim, keep-alive); a protocol's
    /// request state is in its own struct (`HttpState`, `WsState`, `TlsState`).
    struct Flags: OptionSet {
        let rawValue: UInt16
        static let closing = Flags(rawValue: 1 << 0)  // close() called; closes after this dispatch
        static let draining = Flags(rawValue: 1 << 1)  // close once the send buffer is empty
        static let lingering = Flags(rawValue: 1 << 2)  // write side shut; waiting for the peer's FIN
        static let readPaused = Flags(rawValue: 1 << 3)  // waiting for a receive block
        static let inHandler = Flags(rawValue: 1 << 4)  // input of this slot is being processed
        static let inPoller = Flags(rawValue: 1 << 5)  // registered with the poller
        static let recvFull = Flags(rawValue: 1 << 6)  // reading stopped: buffer full
        static let evicted = Flags(rawValue: 1 << 7)  // blocks reclaimed under pressure; closing
        static let batching = Flags(rawValue: 1 << 8)  // sends gathered in the block (Manager+Batch)
        static let heard = Flags(rawValue: 1 << 9)  // the peer's bytes have been read (not silent)
        static let pinged = Flags(rawValue: 1 << 10)  // keep-alive ping sent, nothing read since
        static let unitWaiting = Flags(rawValue: 1 << 11)  // paused for a block with a whole unit in the socket
        static let hexdumping = Flags(rawValue: 1 << 12)  // log bytes read and written (Log/Hexdump.swift)
        static let waitedForBlock = Flags(rawValue: 1 << 13)  // its hold is measured from when it began to wait
    }

    var fd: Int32 = -1
    var gen: UInt32 = 0
    var kind: Kind = .free
    var proto: Proto = .tcp
    /// The entry in the client table (`ClientTable`) of a `.client` or `.datagram`
    /// slot; -1 for the others. (Fits the padding after `proto`.)
    var client: Int16 = -1
    var flags: Flags = []
    /// HTTP: the request in progress and how far its answer has gone (2 bytes; `flags`
    /// went from 4 bytes to 2 when these bits left it, so the slot did not grow).
    var http = HttpState()
    var interest: Poller.Interest = []
    var recvBlock: Int32 = -1
    var recvStart: Int32 = 0
    var recvEnd: Int32 = 0
    var sendBlock: Int32 = -1
    var sendStart: Int32 = 0
    var sendEnd: Int32 = 0
    /// Reclaim's measure of the receive block: when this connection took it, and the
    /// bytes read into it since. Under pressure the holder that has received fewest
    /// bytes per second of its hold gives it back (Reclaim.swift): a unit trickled in
    /// halves, the block never quite empty, shows that; a busy client does not.
    /// The loop's clock in ms, truncated: a hold is measured by wrapping difference
    /// (right for holds under 24 days); the byte count saturates. 8 bytes, not 16.
    var recvHeldSince: UInt32 = 0
    var recvHeldBytes: UInt32 = 0
    /// HTTP: the request path an event stream answers, hashed (`Manager.pathHash`), for
    /// `sseBroadcast(uri:)`. (Fits the padding before `held`: the slot does not grow.)
    var streamPath: UInt32 = 0
    /// A reply body sent from where it lives, around the send block's bytes.
    var held = HeldBody()
    /// HTTP: a request body being streamed to the handler.
    var stream = BodyStream()
    /// WebSocket: the message and frame in progress, the close handshake.
    var ws = WsState()
    /// TLS: the session this connection holds (a listener: the options it gives).
    var tls = TlsState()
    var handler: Handler?
    var userdata: AnyObject?

    var recvCount: Int { Int(recvEnd - recvStart) }
    var sendCount: Int { Int(sendEnd - sendStart) }
}
