/// Bytes to send and who keeps them alive until the socket has taken them: the one
/// place where the argument types of the public `send`, `reply`, `wsSend` and
/// `httpChunk` overloads map to an owner (see HeldBody). Those overloads are one-liners
/// that make a `Payload`; the paths below them take only this.
struct Payload {
    var bytes: UnsafeRawBufferPointer
    var owner: HeldBody.Owner

    @inline(__always)
    init(bytes: UnsafeRawBufferPointer, owner: HeldBody.Owner) {
        self.bytes = bytes
        self.owner = owner
    }

    /// No bytes (a reply without a body, a pong without data).
    @inline(__always)
    static var empty: Payload { Payload(borrowed: UnsafeRawBufferPointer(start: nil, count: 0)) }

    /// Lent for the call only: copied, so it must fit a send block.
    @inline(__always)
    init(borrowed bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        owner = .borrowed
    }

    /// Never freed: sent from where it is, any size.
    @inline(__always)
    init(_ text: StaticString) {
        bytes = text.rawBuffer
        owner = .immortal
    }

    /// Retained, not copied, until it is sent: any size.
    @inline(__always)
    init(_ array: [UInt8]) {
        bytes = array.withUnsafeBytes { $0 }  // valid while `owner` holds the array
        owner = .array(array)
    }

    /// Lends `source`'s bytes to `body` for the length of the call.
    @inline(__always)
    static func lending<R>(
        _ source: some ByteSource, _ body: (Payload) throws(ConnectionError) -> R
    ) throws(ConnectionError) -> R {
        try source.withBytes { (bytes) throws(ConnectionError) in try body(Payload(borrowed: bytes)) }
    }
}

extension Manager {
    /// A view sent from connection `s`: kept in place when it lies in that connection's
    /// receive block (an echo; the block is pinned until the bytes are out), otherwise
    /// lent for the call.
    @inline(__always)
    func payload(_ view: ByteView, in s: Int32) -> Payload {
        let block = slots[Int(s)].recvBlock
        guard block >= 0, let p = view.buffer.baseAddress else { return Payload(borrowed: view.buffer) }
        let start = UnsafeRawPointer(recvPool.pointer(block))
        let inBlock = p >= start && p + view.count <= start + recvPool.blockSize
        return Payload(bytes: view.buffer, owner: inBlock ? .receiveBlock : .borrowed)
    }
}
