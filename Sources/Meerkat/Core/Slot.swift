import CMeerkat

/// One entry of the connection table: everything the manager knows about a socket.
/// A slot holds no I/O buffer of its own; it borrows pool blocks while bytes are pending.
struct Slot {
    enum Kind: UInt8 { case free, listener, connection, rejecting }

    struct Flags: OptionSet {
        let rawValue: UInt32
        static let closing = Flags(rawValue: 1 << 0)  // close() called; closes after this dispatch
        static let draining = Flags(rawValue: 1 << 1)  // close once the send buffer is empty
        static let lingering = Flags(rawValue: 1 << 2)  // write side shut; waiting for the peer's FIN
        static let readPaused = Flags(rawValue: 1 << 3)  // waiting for a receive block
        static let awaitingReply = Flags(rawValue: 1 << 4)  // a request was delivered, no reply yet
        static let headersDelivered = Flags(rawValue: 1 << 5)
        static let streamingBody = Flags(rawValue: 1 << 6)  // handler asked for body pieces
        static let keepAlive = Flags(rawValue: 1 << 7)  // current request keeps the connection
        static let headRequest = Flags(rawValue: 1 << 8)  // current request is HEAD
        static let http10 = Flags(rawValue: 1 << 9)  // current request is HTTP/1.0
        static let sentContinue = Flags(rawValue: 1 << 10)  // 100 Continue sent for this request
        static let inHandler = Flags(rawValue: 1 << 11)  // input of this slot is being processed
        static let inPoller = Flags(rawValue: 1 << 12)  // registered with the poller
        static let recvFull = Flags(rawValue: 1 << 13)  // reading stopped: buffer full
        static let chunkedReply = Flags(rawValue: 1 << 14)  // a chunked response is open
        static let evicted = Flags(rawValue: 1 << 15)  // blocks reclaimed under pressure; closing
        static let replyFailed = Flags(rawValue: 1 << 16)  // a reply to the awaited request threw
        static let answered = Flags(rawValue: 1 << 17)  // the current request has its (final) reply
        static let bodyPending = Flags(rawValue: 1 << 18)  // in .httpHeaders, the body not all here
        static let watched = Flags(rawValue: 1 << 19)  // a watched descriptor (no idle timeout)
        static let datagram = Flags(rawValue: 1 << 20)  // a UDP client: a send is a datagram
        static let batching = Flags(rawValue: 1 << 21)  // sends gathered in the block (Manager+Batch)
        static let heard = Flags(rawValue: 1 << 22)  // the peer's bytes have been read (not silent)
        static let pinged = Flags(rawValue: 1 << 23)  // keep-alive ping sent, nothing read since
        static let eventStream = Flags(rawValue: 1 << 24)  // the open chunked reply is server-sent events
        static let unitWaiting = Flags(rawValue: 1 << 25)  // paused for a block with a whole unit in the socket
        static let hexdumping = Flags(rawValue: 1 << 26)  // log bytes read and written (Log/Hexdump.swift)
    }

    var fd: Int32 = -1
    var gen: UInt32 = 0
    var kind: Kind = .free
    var proto: Proto = .tcp
    /// A client connection's entry in the client table (`ClientTable`); -1 for accepted
    /// connections and listeners. (Fits the padding after `proto`.)
    var client: Int16 = -1
    var flags: Flags = []
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
