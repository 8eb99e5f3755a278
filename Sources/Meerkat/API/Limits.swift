/// Every size and time the library uses, fixed when the `Manager` starts. A board
/// profile (boards/*.mk) picks these for the board's RAM; the manager allocates its
/// connection table and buffer pools from them once and never grows them.
public struct Limits {
    /// Accepted connections served at once (listeners are not counted).
    public var maxConnections: Int = 256
    /// Listening sockets.
    public var maxListeners: Int = 4
    /// Extra slots used only to answer 503 when the table is full; when these are busy
    /// too, a new connection is closed at once.
    public var rejectSlots: Int = 8
    /// Receive block size: the largest request head plus body that is not streamed.
    public var recvBufferSize: Int = 16 * 1024
    /// Send block size: the largest reply that can be queued at once.
    public var sendBufferSize: Int = 16 * 1024
    /// Blocks in each pool. A connection holds one only while it has bytes pending.
    public var recvBuffers: Int = 64
    public var sendBuffers: Int = 64
    /// Header lines in one request.
    public var maxHeaders: Int = 48
    /// Longest request target; longer gets 414.
    public var maxURILength: Int = 4096
    /// A request must be complete this long after its first byte: its head, and its
    /// body unless the handler streams it (slowloris and slow-body guard).
    public var headerTimeoutMs: Int = 10_000
    /// A connection with no traffic for this long is closed. WebSockets and event
    /// streams are kept alive instead (`wsPingIntervalMs`).
    public var idleTimeoutMs: Int = 60_000
    /// A WebSocket with no traffic either way for this long gets a ping, and a
    /// server-sent event stream with no traffic a comment line (`:`); a WebSocket that
    /// has still sent nothing one `idleTimeoutMs` after the ping is closed with 1001.
    /// At most half the idle timeout (so `--idle-timeout-ms` alone sets both), so that
    /// a proxy or NAT with the same idle timeout as ours (60 s is common) sees traffic
    /// before it cuts. 0: no pings; idle WebSockets and streams close at the timeout.
    public var wsPingIntervalMs: Int = 30_000
    /// After a closing reply, how long to wait for the peer's FIN before closing anyway.
    public var lingerTimeoutMs: Int = 2_000
    /// Under pressure (a pool is empty and a connection needs a block), a holder that
    /// has made no progress for this long gives its blocks back and is closed: an
    /// unfinished request, or output its peer has not read. See docs/architecture.md.
    public var reclaimGraceMs: Int = 1_000
    /// Under pressure too, a receive block's holder that has received fewer bytes a
    /// second than this since it took the block gives it back once it has had it for
    /// its share of the grace, as a silent one does: a peer that trickles a body byte
    /// every 50-100 ms is never silent long, yet holds its block for good. Honest slow
    /// clients are far faster (a 9,600 baud line: 960); without pressure it does not
    /// apply. 0: no floor.
    public var reclaimMinRate: Int = 512
    /// Bytes of wakeup messages that may wait between two polls.
    public var wakeupQueueBytes: Int = 4096
    /// TLS sessions that may be open at once: the session pool's size (the board
    /// profiles: one per connection). Each session, once used, keeps its mbedTLS context
    /// (`Manager.tlsSessionBytes`) and, while connected, its keys; not record buffers.
    public var tlsSlots: Int = 16
    /// TLS record-buffer pairs (`Manager.tlsPairBytes` each, allocated once): how many
    /// TLS connections may move data at the same moment. An established connection with
    /// nothing in flight gives its pair back; one that finds none free waits, its socket
    /// unread, and under pressure the holder making least progress gives its pair up.
    public var tlsBufferPairs: Int = 16
    /// Whether idle TLS connections give their record buffers back. Off (or with an
    /// mbedTLS other than the 2.28 it was written for), each TLS connection holds a pair
    /// of its own from start to end, so `tlsBufferPairs` bounds the TLS connections.
    public var tlsParking = true
    /// Client connections open at once (`Manager.connect`); they count toward
    /// `maxConnections` too.
    public var maxClients: Int = 16
    /// A client's TCP connect must complete within this.
    public var connectTimeoutMs: Int = 10_000
    /// Files larger than a send block being sent at once (`serveDir`/`serveFile`);
    /// each holds a descriptor, no buffer. When all are busy, another such file gets 503.
    public var fileSends: Int = 32
    /// A DNS query is sent again when no good answer came within this, up to
    /// `dnsTries` times in all; then the connect fails.
    public var dnsTimeoutMs: Int = 2_000
    public var dnsTries: Int = 3
    /// A TLS handshake must complete this long after the connection was accepted.
    public var handshakeTimeoutMs: Int = 5_000
    /// Timers (`timerAdd`) the manager reserves room for at start (8 bytes each). An app
    /// that keeps more live timers grows the room when it adds one (from a callback
    /// too); firing and re-arming never grow it (`TimerHeap`).
    public var timers: Int = 64
    /// Cipher-suite order: ChaCha20-Poly1305 ahead of AES-GCM. The board profile decides
    /// from a measurement (BENCHMARKS.md): with mbedTLS 2.28 ChaCha20 wins on every board
    /// here, the AES-NI host too, so that is the default.
    public var tlsChaChaFirst: Bool = true
    /// Session tickets stay valid this long; the ticket key rotates on the same period.
    public var tlsTicketLifetimeS: Int = 3600
    /// Readiness events taken from the kernel per wait (at most 64).
    public var eventsPerPoll: Int = 64
    /// MQTT sessions (`Manager.mqttConnect`) at once, counting those kept between
    /// connections (clean session off); each is also a client (`maxClients`). Each
    /// takes `mqttInFlightBytes` + `mqttSplitPacketBytes` + 8 KiB (one bit per packet id
    /// for received QoS 2 messages awaiting PUBREL, `MqttSessions.releasingWords`), the
    /// bits touched only once a session takes the entry.
    public var mqttSessions: Int = 4
    /// Per MQTT session: QoS 1 and 2 messages sent and not yet acknowledged, and the
    /// bytes their topics and payloads may take, kept for sending again after a
    /// reconnect. A full table is back-pressure (`ConnectionError.inFlightFull`): the
    /// sender picks its own window. Received messages are not bounded by this: MQTT
    /// 3.1.1 gives a receiver no say, so every QoS 2 id may await PUBREL at once.
    public var mqttInFlight: Int = 16
    public var mqttInFlightBytes: Int = 8 * 1024
    /// Per MQTT session over WebSocket: the largest packet that may arrive split across
    /// WebSocket messages (one within a message may fill the receive block).
    public var mqttSplitPacketBytes: Int = 2048
    /// Per MQTT `Reconnector`: publishes kept while the broker is away (or while the
    /// in-flight table or the send block is full), in order, sent after the reconnect
    /// (`Reconnector.mqttPub`): at most this many, whose topics and payloads take at most
    /// `mqttOutboxBytes`. Allocated once, when the reconnector is made. Full: the
    /// publish throws `MqttOutboxError.full`. 0: nothing is kept.
    public var mqttOutbox: Int = 32
    public var mqttOutboxBytes: Int = 8 * 1024
    /// Login sessions at once (`Manager.sessionStart`), 88 bytes each; a new one past
    /// this ends the oldest. 0: no sessions.
    public var authSessions: Int = 32
    /// A session unused this long ends (15 min), and any session this long after it
    /// began (12 h): the cookie's Max-Age.
    public var authSessionIdleS: Int = 900
    public var authSessionMaxS: Int = 43_200
    /// Client addresses whose failed logins are counted (`Manager.loginFailed`), about
    /// 48 bytes each; full of recent failures, the addresses without an entry share
    /// one overflow entry (its delays, no lockout).
    public var loginThrottleEntries: Int = 64
    /// Failed logins accepted a second from all addresses together; past it every
    /// login waits for the next second (bounds the CPU spent on password hashes). Above
    /// the 4 failures one address makes before its first delay, so one guesser alone never
    /// holds others back.
    public var loginFailuresPerSecond: Int = 5
    /// PBKDF2 iterations for a new `PasswordRecord`: the board profile picks a count that
    /// takes about 100–250 ms on the board (README, "Logins and sessions").
    public var passwordIterations: Int = 120_000

    public init() {}

    public init(
        maxConnections: Int, recvBufferSize: Int, sendBufferSize: Int,
        recvBuffers: Int, sendBuffers: Int
    ) {
        self.maxConnections = maxConnections
        self.recvBufferSize = recvBufferSize
        self.sendBufferSize = sendBufferSize
        self.recvBuffers = recvBuffers
        self.sendBuffers = sendBuffers
    }

    /// These limits with every value raised to its working minimum (a 512-byte block,
    /// one block per pool, eight header lines, …) and `eventsPerPoll` kept within 1…64.
    /// The manager applies this at start, so a mistyped board profile degrades instead
    /// of crashing.
    public var sanitized: Limits {
        var l = self
        l.maxConnections = max(l.maxConnections, 1)
        l.maxListeners = max(l.maxListeners, 1)
        l.rejectSlots = max(l.rejectSlots, 0)
        l.recvBufferSize = max(l.recvBufferSize, 512)
        l.sendBufferSize = max(l.sendBufferSize, 512)
        l.recvBuffers = max(l.recvBuffers, 1)
        l.sendBuffers = max(l.sendBuffers, 1)
        l.maxHeaders = max(l.maxHeaders, 8)
        l.maxURILength = max(l.maxURILength, 16)
        l.headerTimeoutMs = max(l.headerTimeoutMs, 1)
        l.idleTimeoutMs = max(l.idleTimeoutMs, 1)
        l.wsPingIntervalMs = l.wsPingIntervalMs <= 0 ? 0 : max(min(l.wsPingIntervalMs, l.idleTimeoutMs / 2), 1)
        l.lingerTimeoutMs = max(l.lingerTimeoutMs, 0)
        l.reclaimGraceMs = max(l.reclaimGraceMs, 0)
        l.reclaimMinRate = min(max(l.reclaimMinRate, 0), 1 << 30)
        l.wakeupQueueBytes = max(l.wakeupQueueBytes, 64)
        l.eventsPerPoll = min(max(l.eventsPerPoll, 1), 64)
        l.tlsSlots = max(l.tlsSlots, 0)
        l.tlsBufferPairs = min(max(l.tlsBufferPairs, 1), 65_536)
        l.handshakeTimeoutMs = max(l.handshakeTimeoutMs, 1)
        l.timers = max(l.timers, 1)
        l.maxClients = max(l.maxClients, 0)
        l.connectTimeoutMs = max(l.connectTimeoutMs, 1)
        l.dnsTimeoutMs = max(l.dnsTimeoutMs, 1)
        l.fileSends = max(l.fileSends, 0)
        l.dnsTries = min(max(l.dnsTries, 1), 16)
        l.tlsTicketLifetimeS = min(max(l.tlsTicketLifetimeS, 60), 86_400)
        l.mqttSessions = min(max(l.mqttSessions, 0), l.maxClients)
        l.mqttInFlight = min(max(l.mqttInFlight, 1), 65_535)
        l.mqttInFlightBytes = max(l.mqttInFlightBytes, 256)
        l.mqttSplitPacketBytes = max(l.mqttSplitPacketBytes, 64)
        l.mqttOutbox = min(max(l.mqttOutbox, 0), 65_535)
        l.mqttOutboxBytes = max(l.mqttOutboxBytes, 0)
        l.authSessions = max(l.authSessions, 0)
        l.authSessionIdleS = max(l.authSessionIdleS, 1)
        l.authSessionMaxS = max(l.authSessionMaxS, 1)
        l.loginThrottleEntries = max(l.loginThrottleEntries, 1)
        l.loginFailuresPerSecond = max(l.loginFailuresPerSecond, 1)
        l.passwordIterations = min(max(l.passwordIterations, 1000), Int(Int32.max))
        return l
    }

    /// Slots in the table: listeners, connections and reject slots.
    var tableSize: Int { maxListeners + maxConnections + rejectSlots }

    /// Bytes the manager allocates up front for buffers (what a board must budget).
    public var bufferBytes: Int {
        recvBufferSize * recvBuffers + sendBufferSize * sendBuffers + wakeupQueueBytes * 2
    }
}
