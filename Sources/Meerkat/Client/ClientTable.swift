/// What a client connection knows beyond its slot: the slot has no room to spare, and a
/// board opens few clients, so they live in a small fixed table (`Limits.maxClients`),
/// allocated once, with the connects in progress by start time (connect timeout).
struct ClientState {
    enum Kind: UInt8 { case tcp, udp, http, websocket }
    enum Phase: UInt8 {
        /// The host's address is being asked of the nameserver.
        case resolving
        case connecting
        /// TCP is up; TLS waits for the time (`TlsTimePolicy.deferUntilSynced`).
        case awaitingTime
        /// TCP is up; the TLS handshake runs.
        case securing
        /// The WebSocket upgrade request is out; waiting for 101.
        case upgrading
        case open
    }

    var kind: Kind = .tcp
    var phase: Phase = .connecting
    /// The config (index in `TlsConfigTable`) of a TLS client; -1 for plain.
    var tlsConfig: Int32 = -1
    /// How long TLS may wait for the time (`.deferUntilSynced`; 0: it does not), and
    /// until when it waits (monotonic ms) once TCP is up.
    var timeWaitMs: Int64 = 0
    var timeWaitUntil: Int64 = 0
    /// The request in flight was HEAD: its response has no body.
    var requestWasHead = false
    /// The URL's host as written (what the resolver asks); the name for Host, SNI and
    /// the certificate check (the URL's, unless the TLS options name another) and the
    /// port; the request target of a WebSocket upgrade; the subprotocols it offers.
    var name = ""
    var host = ""
    var port = 0
    var path = "/"
    var protocols = ""
    /// The MQTT session (`Manager.mqtt`) this client carries; -1 for none.
    var mqtt: Int16 = -1
    /// Sec-WebSocket-Accept the server must answer with.
    var accept: (UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0)
}

struct ClientTable {
    let capacity: Int
    let entries: UnsafeMutablePointer<ClientState>
    private var free: FreeIndices
    /// Clients whose TCP connect is under way, by when it started.
    var connecting: SlotQueue
    /// The slot of each entry in `connecting` (for the timeout).
    let slotOf: UnsafeMutablePointer<Int32>

    init(capacity requested: Int) {
        capacity = min(max(requested, 0), Int(Int16.max))
        let n = max(capacity, 1)
        entries = .allocate(capacity: n)
        entries.initialize(repeating: ClientState(), count: n)
        free = FreeIndices(capacity: capacity)
        connecting = SlotQueue(capacity: n)
        slotOf = .allocate(capacity: n)
        slotOf.initialize(repeating: -1, count: n)
    }

    var inUse: Int { free.inUse }

    mutating func take(for slot: Int32) -> Int16? {
        guard let taken = free.take() else { return nil }
        let e = Int16(taken)  // capacity ≤ Int16.max: the index fits the slot's padding
        entries[Int(e)] = ClientState()
        slotOf[Int(e)] = slot
        return e
    }

    mutating func give(_ e: Int16) {
        connecting.remove(Int32(e))
        entries[Int(e)] = ClientState()  // drops the strings
        slotOf[Int(e)] = -1
        free.give(Int32(e))
    }

    func deallocate() {
        entries.deinitialize(count: max(capacity, 1))
        entries.deallocate()
        free.deallocate()
        connecting.deallocate()
        slotOf.deallocate()
    }
}
