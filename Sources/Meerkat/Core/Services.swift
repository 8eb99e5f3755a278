import CMeerkat

/// The one place the core names the protocols and services. The loop (Manager.swift,
/// Manager+IO.swift, Reclaim*.swift) knows a connection's bytes, its blocks and its
/// queues; what the bytes mean, and any state or deadline of a protocol's own, is
/// reached from here. A protocol or service is a folder of its own plus its lines in
/// this file:
/// - its state, in `Services` (allocated once from `Limits`, freed in `deallocate`);
/// - its next deadline, in `servicesDue`, and what expires then, in `expireServices`;
/// - its input, in `processInput` (and `holdsWholeUnit`, for reclaim);
/// - its hooks when a connection closes, when the peer closes, when the manager goes
///   away or closes, and for a descriptor of its own in the poll set (`serviceReady`).
/// Dispatch is static (one switch, direct calls): Embedded Swift has no existentials
/// of non-class protocols, and the loop pays no indirection.
extension Slot {
    /// What a connection's bytes are, once its transport has them.
    enum Proto: UInt8 { case tcp, http, websocket, mqtt, sntp }
}

struct Services {
    /// TLS (TLS/): parsed certificates (found by content), the session pool, and a
    /// scratch where a reply's pieces become one record.
    var tlsConfigs = TlsConfigTable()
    var tlsSessions: TlsSessionPool
    let tlsScratch: UnsafeMutablePointer<UInt8>
    var tlsHandshakes = 0
    var tlsResumed = 0
    /// Clients' sessions per server, to resume with (TLS/TlsResumeTable.swift).
    var tlsResume: TlsResumeTable
    /// Client connections' own state (Client/ClientTable.swift) and the scratch where a
    /// client's frame is masked.
    var clients: ClientTable
    let maskScratch: UnsafeMutablePointer<UInt8>
    /// The resolver's pending queries and socket, and where it asks (DNS/).
    var dns: DnsQueries
    var dnsServer: String? = nil
    var dnsPreferIPv6 = false
    /// MQTT sessions, their messages in flight, and the packet scratch (MQTT/).
    var mqtt: MqttSessions
    /// SNTP requests in flight (SNTP/).
    var sntp: SntpQueries
    /// The trusted wall clock (its floor the firmware's build time), what TLS checks
    /// dates with, and whether setting the system clock was refused already (SNTP/).
    var clock = TrustedClock(floorMs: Int64(mk_build_epoch()) * 1000)
    var clockSetRefused = false
    var setsSystemClock = false
    var tlsTimePolicy = TlsTimePolicy.checkWithFloor
    /// TLS clients waiting for the time (`.deferUntilSynced`): with none, the loop's look
    /// is one comparison.
    var timeWaiting = 0
    /// HTTP's parser scratch: header offsets of the request being delivered (HTTP/).
    let headerFields: UnsafeMutableBufferPointer<HeaderField>
    /// Static files (Static/): the path being opened and the validators written behind
    /// it; the real path of the last root served, and the files being sent.
    let staticPath: UnsafeMutablePointer<UInt8>
    let staticRootReal: UnsafeMutablePointer<UInt8>
    var staticRootName = ""
    var staticRootKnown = false
    var staticRootSerial: UInt32 = 0
    var fileSends: FileSends
    var openFiles = OpenFiles()
    /// When the idle queue is next walked for keep-alive pings (WebSocket/KeepAlive.swift).
    var keepAliveDue: Int64 = 0
    /// Cross-origin and DNS-rebinding rules (HTTP/OriginPolicy.swift) and the CSRF token
    /// they may require, made on first use.
    var originPolicy = OriginPolicy()
    var csrfToken: String? = nil
    /// Login sessions and failed-login counts (Auth/). Sessions expire when looked up,
    /// so they need no deadline here.
    let sessions: SessionTable
    var loginThrottle: LoginThrottle

    init(limits: Limits) {
        tlsSessions = TlsSessionPool(
            capacity: limits.tlsSlots, pairs: limits.tlsBufferPairs, slots: limits.tableSize, parking: limits.tlsParking)
        tlsScratch = .allocate(capacity: limits.tlsSlots > 0 ? limits.sendBufferSize : 1)
        clients = ClientTable(capacity: limits.maxClients)
        tlsResume = TlsResumeTable(capacity: limits.tlsSlots > 0 ? limits.maxClients : 0)
        maskScratch = .allocate(capacity: limits.maxClients > 0 ? limits.sendBufferSize : 1)
        dns = DnsQueries(capacity: limits.maxClients)
        mqtt = MqttSessions(limits: limits)
        sntp = SntpQueries(capacity: limits.maxClients)
        let fields = UnsafeMutablePointer<HeaderField>.allocate(capacity: limits.maxHeaders)
        fields.initialize(repeating: HeaderField(), count: limits.maxHeaders)
        headerFields = UnsafeMutableBufferPointer(start: fields, count: limits.maxHeaders)
        staticPath = .allocate(capacity: Manager.staticPathSize + Manager.validatorSize)
        staticRootReal = .allocate(capacity: Manager.staticPathSize)
        fileSends = FileSends(capacity: limits.fileSends)
        sessions = SessionTable(capacity: limits.authSessions)
        loginThrottle = LoginThrottle(capacity: limits.loginThrottleEntries)
    }

    mutating func deallocate() {
        tlsSessions.deallocate()
        tlsConfigs.free()
        tlsScratch.deallocate()
        clients.deallocate()
        tlsResume.deallocate()
        maskScratch.deallocate()
        dns.deallocate()
        mqtt.deallocate()
        sntp.deallocate()
        headerFields.baseAddress!.deallocate()
        staticPath.deallocate()
        staticRootReal.deallocate()
        fileSends.deallocate()
        openFiles.deallocate()
        sessions.deallocate()
        loginThrottle.deallocate()
    }
}

/// Where the loop meets the protocols: input goes to the slot's protocol (HTTP or
/// WebSocket; raw TCP handlers read the buffer themselves), and the flow control they
/// share: a request or message is delivered only when its answer can be queued.
extension Manager {
    /// Handles whatever complete input the slot's receive buffer holds (MQTT over
    /// WebSocket arrives through the WebSocket layer: `mqttFeed` in
    /// MQTT/Manager+MqttInput.swift).
    @inline(__always)
    func processInput(_ s: Int32) {
        switch slots[Int(s)].proto {
        case .tcp: return  // the handler got `.read` and reads the buffer itself
        case .http: processHTTP(s)
        case .websocket: processWebSocket(s)
        case .mqtt: processMqtt(s)
        case .sntp: processSntp(s)
        }
    }

    /// Whether `bytes`, the start of what `s`'s peer has sent and nothing has read yet,
    /// hold a whole unit its protocol can act on: a request head, a frame, a packet, a
    /// TLS record. (Reclaim uses it to tell a ready peer from one trickling halves.)
    func holdsWholeUnit(_ s: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        if slots[Int(s)].tls.phase != .none { return TlsState.holdsWholeRecord(bytes) }
        switch slots[Int(s)].proto {
        case .tcp: return true  // the app's own protocol: any bytes may be a unit
        case .http: return HttpParser.holdsWholeHead(bytes)
        case .websocket: return WsFrame.holdsWholeFrame(bytes)
        case .sntp: return true  // a datagram is whole
        case .mqtt:
            if case .incomplete = MqttParser.parse(bytes, maxPacket: bytes.count) { return false }
            return true
        }
    }

    /// The bytes in the slot's receive block that the protocol has not consumed.
    func receiveBuffer(_ s: Int32) -> UnsafeMutableRawBufferPointer {
        let base = recvPool.pointer(slots[Int(s)].recvBlock) + Int(slots[Int(s)].recvStart)
        return UnsafeMutableRawBufferPointer(start: base, count: slots[Int(s)].recvCount)
    }

    /// Drops the first `count` bytes (the protocol has handled them).
    func consume(_ s: Int32, _ count: Int) {
        slots[Int(s)].recvStart += Int32(count)
    }

    /// Flow control: input is delivered only when an answer to it can be queued. Nothing
    /// of this connection's may still wait to be sent (so answers stay in order and one
    /// never fails because earlier ones fill the block), and a send block must be free
    /// or reclaimable. Otherwise the input waits: for the flush (`outputDrained`), or in
    /// `sendWaiters` for a block. While it waits, the request timeout does not run: the
    /// wait is ours, not the client's (a peer that does not read is `sendQueue`'s
    /// business).
    func canQueueReply(_ s: Int32) -> Bool {
        if !hasOutput(s) {
            if slots[Int(s)].sendBlock >= 0 || reclaim(.send, for: s) { return true }
            sendWaiters.append(s, now: now)
        }
        headerQueue.remove(s)
        return false
    }

    /// Everything queued went out: input held back behind it may go on.
    func outputDrained(_ s: Int32) {
        guard slots[Int(s)].proto != .tcp, slots[Int(s)].recvCount > 0,
            !slots[Int(s)].http.flags.contains(.awaitingReply)
        else { return }
        resumeQueue.append(s, now: now)
    }

    /// Input held back (a late reply, a flush, a send block) goes on at the end of a poll.
    func resumePending() {
        while resumeQueue.first >= 0 {
            let s = resumeQueue.first
            resumeQueue.remove(s)
            processInput(s)
            releaseEmptyBuffers(s)
            resumeReadingIfRoom(s)
            // TLS input mbedTLS already holds: no readiness event will come for it.
            if transportHasBuffered(s) && slots[Int(s)].interest.contains(.read) { readAll(s) }
            if slots[Int(s)].kind.isConnection { transportSettled(s) }
        }
    }

    // MARK: Deadlines

    /// The earliest deadline of any service's own (the loop's timeouts are its own).
    @inline(__always)
    func servicesDue() -> Int64 {
        var due = min(min(handshakeDue, tlsPairReclaimDue), connectDue)
        due = min(due, min(queryDue, mqttDue))
        if services.sntp.inUse > 0 { due = min(due, sntpDue) }
        if services.timeWaiting > 0 { due = min(due, timeWaitDue) }
        if limits.wsPingIntervalMs > 0 && idleQueue.first >= 0 { due = min(due, services.keepAliveDue) }
        return due
    }

    /// What is due of each service's: keep-alive pings and SSE heartbeats (before the
    /// idle timeout looks), TLS handshakes, connects, DNS queries, MQTT sessions.
    @inline(__always)
    func expireServices() {
        keepIdleAlive()
        expireHandshakes()
        reclaimTlsPair()
        expireConnects()
        expireQueries()
        expireMqtt()
        if services.sntp.inUse > 0 { expireSntp() }
        if services.timeWaiting > 0 { expireTimeWaits() }
    }

    /// `s` reached the idle timeout: true when its protocol keeps it (a WebSocket is
    /// pinged first, an SSE stream gets a heartbeat).
    @inline(__always)
    func serviceKeepsIdle(_ s: Int32) -> Bool { keepAlive(s) }

    // MARK: Stats

    /// The TLS session pool, for `Manager.stats`.
    var servicesTlsPool: PoolStats {
        PoolStats(
            blocks: services.tlsSessions.capacity, free: services.tlsSessions.freeCount,
            lowestFree: services.tlsSessions.lowestFree)
    }

    /// TLS handshakes completed, for `Manager.stats`.
    var servicesTlsHandshakes: Int { services.tlsHandshakes }
    var servicesTlsResumed: Int { services.tlsResumed }

    /// TLS record-buffer pairs, and how often idle sessions gave theirs back and took
    /// one again, for `Manager.stats`.
    var servicesTlsPairs: PoolStats { services.tlsSessions.pairStats }
    var servicesTlsParks: (parks: Int, unparks: Int) {
        guard let p = services.tlsSessions.pairs else { return (0, 0) }
        return (Int(truncatingIfNeeded: mk_tls_pairs_parks(p)), Int(truncatingIfNeeded: mk_tls_pairs_unparks(p)))
    }

    // MARK: Descriptors and connections

    /// Whether `s`'s output waits for something of this side's rather than for its peer
    /// to read: a TLS record-buffer pair (Reclaim.swift's rule 1 passes it over).
    @inline(__always)
    func outputWaitsOnUs(_ s: Int32) -> Bool { services.tlsSessions.waiters.contains(s) }

    /// Whether `o`'s protocol has nothing under way on it, so reclaim may close it for
    /// a newcomer: an HTTP connection between requests, nothing pending either way.
    /// WebSockets, MQTT and raw TCP are never taken this way.
    @inline(__always)
    func holdsOnlyItsPlace(_ o: Int32) -> Bool {
        slots[Int(o)].proto == .http && slots[Int(o)].recvCount == 0 && !hasOutput(o)
            && !slots[Int(o)].http.flags.contains(.awaitingReply) && !slots[Int(o)].stream.isStreaming
    }

    /// A service's own descriptor in the poll set is ready (tokens past the table).
    func serviceReady(_ token: UInt64) {
        if token == Manager.resolverToken { readAnswers() }
    }

    /// A connection we opened is still connecting (its socket's first writability
    /// finishes the connect).
    @inline(__always)
    func isConnecting(_ s: Int32) -> Bool {
        let e = slots[Int(s)].client
        return e >= 0 && services.clients.entries[Int(e)].phase == .connecting
    }

    /// Whether listener `l`'s connections are answered 503 when the table is full (plain
    /// HTTP; a TLS one would need a session first).
    func answersBusy(_ l: Int32) -> Bool {
        slots[Int(l)].proto == .http && slots[Int(l)].tls.phase == .none
    }

    /// What such a listener's newcomers are answered when the table is full (HTTP/).
    static var busyAnswer: StaticString { busyReply }

    /// `s` was accepted by `l`: it takes the listener's transport (TLS) and starts it.
    func transportAccepted(_ s: Int32, from l: Int32) {
        if slots[Int(l)].tls.phase == .required {
            slots[Int(s)].tls.phase = .required
            slots[Int(s)].tls.config = slots[Int(l)].tls.config
        }
    }

    /// Starts the transport after `.accept` (the handler may have called `tlsInit`).
    func transportStart(_ s: Int32) { tlsAfterAccept(s) }

    /// Before a read: false while the transport's handshake is not done (it went on as
    /// far as it could).
    @inline(__always)
    func transportReady(_ s: Int32) -> Bool {
        slots[Int(s)].tls.phase != .handshaking || tlsHandshake(s)
    }

    /// Before a read takes a receive block: a parked TLS connection takes its record-buffer
    /// pair first (false: it waits for one, holding no block). Waiting for a pair while
    /// holding a block is a stall of ours that looks like the peer's: the receive pool's
    /// reclaim closed honest clients queued behind peers trickling records.
    @inline(__always)
    func transportCanRead(_ s: Int32) -> Bool {
        slots[Int(s)].tls.phase != .open || slots[Int(s)].tls.session < 0 || tlsHoldPair(s)
    }

    /// Bytes go to the socket as they are (no TLS, now or to come).
    @inline(__always)
    func transportIsPlain(_ s: Int32) -> Bool { slots[Int(s)].tls.phase == .none }

    /// Where the pieces of one send are gathered, when the transport frames what it
    /// writes (a TLS session: one record rather than one per piece); nil otherwise.
    @inline(__always)
    func transportGatherScratch(_ s: Int32) -> UnsafeMutablePointer<UInt8>? {
        slots[Int(s)].tls.hasSession ? services.tlsScratch : nil
    }

    /// Reads from the socket through the transport (decrypting on TLS): bytes, 0 at the
    /// peer's close, or -errno (-EAGAIN: nothing now).
    @inline(__always)
    func transportRead(_ s: Int32, _ buf: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        tlsOrPlainRead(s, buf, count)
    }

    /// Writes one piece through the transport (one TLS record a call): bytes taken, or
    /// -errno. After -EAGAIN on TLS the same bytes must come first next time.
    @inline(__always)
    func transportWrite(_ s: Int32, _ buf: UnsafeRawPointer?, _ count: Int) -> Int {
        tlsOrPlainWrite(s, buf, count)
    }

    /// Writes `a` then `b` as far as the socket takes them: the count, or -errno.
    @inline(__always)
    func transportWrite(_ s: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        guard slots[Int(s)].tls.hasSession else {
            let n = mk_send2(slots[Int(s)].fd, a.baseAddress, a.count, b.baseAddress, b.count)
            hexdumpWritten(s, a, b, n)
            return n
        }
        var n = tlsWriteAll(s, a)
        if n == a.count && b.count > 0 {
            let m = tlsWriteAll(s, b)
            n = m < 0 && -m == Int(EAGAIN) ? n : (m < 0 ? m : n + m)
        }
        return n
    }

    /// A record the transport built and has not all sent.
    @inline(__always)
    func transportWritePending(_ s: Int32) -> Bool { tlsWritePending(s) }

    /// Sends what the socket takes of a held file body (Static/).
    func sendHeldFile(_ s: Int32, _ e: Int32) -> Int { sendFromFile(s, e) }

    /// The held body goes (a file's send entry back to its table, Static/).
    @inline(__always)
    func servicesDropHeld(_ s: Int32) { dropHeld(s) }

    /// A client's connect finished, or failed (Client/).
    @inline(__always)
    func serviceConnectDone(_ s: Int32) { finishConnect(s) }

    /// The loop is done with `s` for now (its events handled, a write all taken): the
    /// transport gives back what an idle connection need not hold (a TLS session's
    /// record buffers).
    @inline(__always)
    func transportSettled(_ s: Int32) {
        if slots[Int(s)].tls.phase == .open { tlsPark(s) }
    }

    /// Input the transport already holds, which no readiness event will report.
    @inline(__always)
    func transportHasBuffered(_ s: Int32) -> Bool { tlsHasBufferedInput(s) }

    /// Our side is done writing: the transport says so first (TLS close_notify).
    @inline(__always)
    func transportCloseNotify(_ s: Int32) { tlsCloseNotify(s) }

    /// The peer closed: a response that runs until the close ends here.
    @inline(__always)
    func servicePeerClosed(_ s: Int32) { responseAtEOF(s) }

    /// `s` is closing: each service gives back what it holds for it (TLS session,
    /// client entry, MQTT session, DNS query).
    @inline(__always)
    func servicesEnd(_ s: Int32) {
        tlsEnd(s)
        sntpEnd(s)
        clientEnd(s)
    }

    /// A client connection we opened is up (TCP, TLS): its protocol starts (MQTT sends
    /// CONNECT, SNTP its request).
    func serviceClientUp(_ s: Int32) {
        mqttTransportUp(s)
        sntpUp(s)
    }

    /// The manager is going away: a WebSocket is told (close 1001).
    func servicesGoAway(_ s: Int32) {
        if slots[Int(s)].proto == .websocket { closeWebSocket(s, code: 1001) }
    }

    /// The manager closes: services close their own descriptors.
    func servicesClose() { closeResolver() }
}
