import CMeerkat

/// The resolver's fixed table: one pending query per client entry (a client resolves one
/// name at a time), allocated once with the client table. One UDP socket, connected to
/// the nameserver so the kernel drops datagrams from anyone else, serves every query.
struct DnsQueries {
    /// The largest answer read: a plain DNS message over UDP is at most 512 bytes (RFC
    /// 1035 §4.2.1; we send no EDNS). A longer datagram is cut to this, and the records
    /// that fit whole are used (`DnsMessage.parseAnswer`'s `cut`).
    static let packetSize = 512

    let capacity: Int
    /// The socket (-1 until the first query) and the nameserver it is connected to.
    var fd: Int32 = -1
    var server: SocketAddress? = nil
    /// Per client entry: the query's ID (fresh and random per name and type), the record
    /// type asked, whether the other family was already tried, and how many times it
    /// was sent.
    let ids: UnsafeMutablePointer<UInt16>
    let types: UnsafeMutablePointer<UInt16>
    let triedOther: UnsafeMutablePointer<Bool>
    let sends: UnsafeMutablePointer<UInt8>
    /// Entries waiting for an answer, by when the query last went out.
    var waiting: SlotQueue
    /// A query being written, an answer being read, the addresses it gave.
    let packet: UnsafeMutableRawBufferPointer
    let addresses: UnsafeMutableRawBufferPointer

    init(capacity requested: Int) {
        capacity = requested
        let n = max(requested, 1)
        ids = .allocate(capacity: n)
        ids.initialize(repeating: 0, count: n)
        types = .allocate(capacity: n)
        types.initialize(repeating: 0, count: n)
        triedOther = .allocate(capacity: n)
        triedOther.initialize(repeating: false, count: n)
        sends = .allocate(capacity: n)
        sends.initialize(repeating: 0, count: n)
        waiting = SlotQueue(capacity: n)
        packet = .allocate(byteCount: DnsQueries.packetSize, alignment: 8)
        addresses = .allocate(byteCount: DnsMessage.maxAddresses * 16, alignment: 8)
    }

    /// The entry waiting on query `id`, if any.
    func entry(for id: UInt16) -> Int32? {
        for e in 0..<capacity where waiting.contains(Int32(e)) && ids[e] == id { return Int32(e) }
        return nil
    }

    /// Ready to ask `type` for entry `e`, under a fresh random ID.
    mutating func begin(_ e: Int32, type: UInt16) {
        var id: UInt16 = 0
        _ = withUnsafeMutableBytes(of: &id) { mk_random($0.baseAddress, 2) }
        ids[Int(e)] = id
        types[Int(e)] = type
        sends[Int(e)] = 0
    }

    /// Opens the socket to `server`; false when it cannot be made.
    mutating func open(to server: SocketAddress) -> Bool {
        var raw = server.raw
        let fd = mk_udp_connect(&raw)
        guard fd >= 0 else { return false }
        self.fd = fd
        self.server = server
        return true
    }

    mutating func close() {
        if fd >= 0 { _ = CMeerkat.close(fd) }
        fd = -1
        server = nil
    }

    func deallocate() {
        ids.deallocate()
        types.deallocate()
        triedOther.deallocate()
        sends.deallocate()
        waiting.deallocate()
        packet.deallocate()
        addresses.deallocate()
    }
}
