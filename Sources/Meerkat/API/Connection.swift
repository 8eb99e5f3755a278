import CMeerkat

/// A handle to one connection (or listener): slot number plus generation, so a handle
/// kept after its connection closed can never reach a newer connection in the same
/// slot. Every operation on a stale handle throws `ConnectionError.closed` (the docs'
/// `RuntimeError`) or, for queries, answers as for a closed connection.
/// A handle must not outlive its `Manager`.
public struct Connection {
    /// The manager this connection belongs to (Mongoose's `c->mgr`): a handler kept in a
    /// file of its own, away from the `Manager` that `main.swift` makes, broadcasts and
    /// sets timers through it (`conn.manager.sseBroadcast(…)`).
    public unowned(unsafe) let manager: Manager
    let slot: Int32
    let gen: UInt32

    init(manager: Manager, slot: Int32, gen: UInt32) {
        self.manager = manager
        self.slot = slot
        self.gen = gen
    }

    /// Unique for the life of the manager (until 2^32 connections have come and gone);
    /// what `Manager.wakeup` takes.
    public var id: UInt64 { UInt64(gen) << 32 | UInt64(UInt32(bitPattern: slot)) }

    var liveSlot: Int32? { manager.live(self) }

    /// The slot if the connection is open and not closing.
    func openSlot() throws(ConnectionError) -> Int32 {
        guard let s = liveSlot else { throw .closed }
        let flags = manager.slots[Int(s)].flags
        guard !flags.contains(.closing), !flags.contains(.lingering) else { throw .closed }
        return s
    }

    private func flag(_ f: Slot.Flags) -> Bool {
        guard let s = liveSlot else { return false }
        return manager.slots[Int(s)].flags.contains(f)
    }

    // MARK: State

    /// Typed per-connection state (the docs' `conn.userdata`), cleared when the
    /// connection closes. Read it back with `userdata(as:)`.
    public var userdata: AnyObject? {
        get { liveSlot.flatMap { manager.slots[Int($0)].userdata } }
        nonmutating set { if let s = liveSlot { manager.slots[Int(s)].userdata = newValue } }
    }

    public func userdata<T: AnyObject>(as type: T.Type) -> T? { userdata as? T }

    /// Replaces this connection's handler.
    public func setHandler(_ handler: @escaping Handler) {
        if let s = liveSlot { manager.slots[Int(s)].handler = handler }
    }

    /// Inside an `.error` handler: the errno behind it (e.g. `ECONNREFUSED` for
    /// "connect: connection refused (ECONNREFUSED)"); 0 when the error has none (a
    /// protocol's, a timeout's) and outside the handler.
    public var lastErrno: Int32 {
        guard let s = liveSlot, s == manager.errorSlot else { return 0 }
        return manager.errorErrno
    }

    /// Inside an `.error` handler: the protocol's own code behind it, 0 when it has
    /// none: for a TLS handshake that failed, mbedTLS's error (negative, e.g. -0x2700,
    /// `MBEDTLS_ERR_X509_CERT_VERIFY_FAILED`, for a certificate not trusted); for a
    /// name lookup the DNS server refused, its RCODE (3 for "no such host", 2 SERVFAIL,
    /// 5 REFUSED). A timeout's is `lastErrno` ETIMEDOUT.
    public var lastErrorCode: Int32 {
        guard let s = liveSlot, s == manager.errorSlot else { return 0 }
        return manager.errorCode
    }

    public var isOpen: Bool { liveSlot != nil }
    public var isListening: Bool { liveSlot.map { manager.slots[Int($0)].kind == .listener } ?? false }
    public var isClosing: Bool { liveSlot == nil || flag(.closing) || flag(.lingering) }
    public var isDraining: Bool { flag(.draining) }
    /// Mongoose's `is_hexdumping`: the bytes this connection reads and writes are logged
    /// at debug level as hex and ASCII (TLS: the plain text). Off when it closes.
    public var isHexdumping: Bool {
        get { flag(.hexdumping) }
        nonmutating set {
            guard let s = liveSlot else { return }
            if newValue {
                manager.slots[Int(s)].flags.insert(.hexdumping)
            } else {
                manager.slots[Int(s)].flags.remove(.hexdumping)
            }
        }
    }
    public var isTLS: Bool { liveSlot.map { manager.slots[Int($0)].tls.phase != .none } ?? false }
    /// A `udp://` client: each `send` is one datagram.
    public var isUDP: Bool { liveSlot.map { manager.slots[Int($0)].kind == .datagram } ?? false }
    public var isWebSocket: Bool { liveSlot.map { manager.slots[Int($0)].proto == .websocket } ?? false }
    /// Bytes wait in the receive buffer.
    public var isReadable: Bool { recvLen > 0 }
    /// The send buffer has room.
    public var isWritable: Bool { liveSlot != nil && sendLen < sendSize }
    /// The receive buffer is full, or no block was free for it.
    public var isFull: Bool { recvLen >= recvSize || flag(.readPaused) }

    public var recvLen: Int { liveSlot.map { manager.slots[Int($0)].recvCount } ?? 0 }
    /// Bytes waiting to be sent: the send block's and a held body's.
    public var sendLen: Int { liveSlot.map { manager.slots[Int($0)].sendCount + manager.slots[Int($0)].held.count } ?? 0 }
    public var recvSize: Int { manager.limits.recvBufferSize }
    public var sendSize: Int { manager.limits.sendBufferSize }

    public var remoteAddress: SocketAddress? {
        guard let s = liveSlot, manager.slots[Int(s)].kind != .listener else { return nil }
        var raw = mk_addr()  // asked of the socket: the slot does not keep it
        guard mk_peer_addr(manager.slots[Int(s)].fd, &raw) == 0 else { return nil }
        return SocketAddress(raw: raw)
    }

    public var localAddress: SocketAddress? {
        guard let s = liveSlot else { return nil }
        var raw = mk_addr()
        guard mk_local_addr(manager.slots[Int(s)].fd, &raw) == 0 else { return nil }
        return SocketAddress(raw: raw)
    }

    // MARK: Actions

    /// Queues raw bytes, all or nothing. Throws `.sendBufferFull` when they do not fit
    /// now (nothing was queued) and `.closed` on a closed connection. The bytes are
    /// copied, so they must fit the send block; the overloads for `StaticString`,
    /// `[UInt8]` and a `ByteView` of the receive buffer send any size from where it is.
    public func send(_ data: some ByteSource) throws(ConnectionError) {
        let s = try sendSlot()
        try Payload.lending(data) { (p) throws(ConnectionError) in try manager.sendRaw(s, p) }
    }

    public func send(_ data: StaticString) throws(ConnectionError) { try manager.sendRaw(try sendSlot(), Payload(data)) }

    public func send(_ data: [UInt8]) throws(ConnectionError) { try manager.sendRaw(try sendSlot(), Payload(data)) }

    public func send(_ data: ByteView) throws(ConnectionError) {
        let s = try sendSlot()
        try manager.sendRaw(s, manager.payload(data, in: s))
    }

    private func sendSlot() throws(ConnectionError) -> Int32 {
        let s = try openSlot()
        guard manager.slots[Int(s)].kind.isConnection, !manager.clientNotUp(s) else { throw .invalidState }
        return s
    }

    /// The bytes waiting in the receive buffer (raw TCP connections; HTTP connections
    /// get them framed as requests). A view, valid until the handler returns.
    public var received: ByteView {
        guard let s = liveSlot, manager.slots[Int(s)].recvBlock >= 0 else { return .empty }
        let slot = manager.slots[Int(s)]
        return ByteView(base: manager.recvPool.pointer(slot.recvBlock) + Int(slot.recvStart), count: slot.recvCount)
    }

    /// Drops the first `count` received bytes (after the handler has used them).
    public func consume(_ count: Int) {
        guard let s = liveSlot else { return }
        let n = Int32(max(0, min(count, manager.slots[Int(s)].recvCount)))
        manager.slots[Int(s)].recvStart += n
        manager.releaseEmptyBuffers(s)
        manager.resumeReadingIfRoom(s)
    }

    /// Copies out and consumes up to `count` received bytes (all when negative): the
    /// docs' `recv_data(n)`.
    public func recvData(_ count: Int = -1) -> [UInt8] {
        let view = received
        let n = count < 0 ? view.count : min(count, view.count)
        let bytes = view.slice(0, n).bytes
        consume(n)
        return bytes
    }

    /// Closes once everything queued has been sent. No-op on a closed handle.
    public func drain() {
        guard let s = liveSlot, !flag(.closing) else { return }
        manager.slots[Int(s)].flags.insert(.draining)
        if manager.slots[Int(s)].sendCount == 0 { manager.finishDrain(s) }
    }

    /// Fails the connection (the docs' `error(msg)`): the handler gets `.error(text)` now
    /// and `.close` after it returns. No-op on a closed or closing handle.
    public func error(_ text: StaticString) {
        guard let s = liveSlot, !flag(.closing) else { return }
        manager.deliver(s, .error(text))
        manager.scheduleClose(s)
    }

    /// Closes after the current handler returns; the handler gets `.close`. No-op on a
    /// closed handle.
    public func close() {
        guard let s = liveSlot else { return }
        manager.scheduleClose(s)
    }
}

extension Connection: Hashable {
    public static func == (a: Connection, b: Connection) -> Bool {
        a.slot == b.slot && a.gen == b.gen && a.manager === b.manager
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(slot)
        hasher.combine(gen)
    }
}
