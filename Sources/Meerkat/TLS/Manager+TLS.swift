import CMeerkat

/// Where TLS meets the loop. A listener's options (or the handler's `tlsInit` on
/// `.accept`) start a session from the pool; readiness drives the handshake without
/// blocking; then `transportRead`/`transportWrite`, which the socket code uses for every
/// connection, decrypt into the receive block and encrypt from the send side, so HTTP
/// and WebSocket run over TLS unchanged.
extension Manager {
    // MARK: Starting

    /// `tlsInit` on a listener (its connections get TLS) or on a connection (TLS starts
    /// now). On failure the handler gets `.error` and a connection closes.
    func tlsInit(_ s: Int32, _ opts: TlsOpts) -> Bool {
        // Datagrams and watched descriptors carry no TLS stream; a client has no socket
        // up before `.connect`. Either is the app's mistake: said, not left to run in the
        // clear.
        guard slots[Int(s)].kind != .datagram && slots[Int(s)].kind != .watched else {
            return refuseTls(s, "TLS: not on a UDP socket or a watched descriptor")
        }
        let isClient = slots[Int(s)].kind == .client
        if isClient && clientNotUp(s) { return refuseTls(s, "TLS: on a client, call tlsInit from .connect on") }
        let index: Int32
        do {
            let speaksHTTP = slots[Int(s)].proto == .http || slots[Int(s)].proto == .websocket
            index = try services.tlsConfigs.index(
                for: opts, server: !isClient, defaultALPN: speaksHTTP ? "http/1.1" : "", limits: limits)
        } catch {
            deliverError(s, error.text)
            if slots[Int(s)].kind.isConnection { scheduleClose(s) }
            return false
        }
        switch slots[Int(s)].kind {
        case .listener:
            slots[Int(s)].tls.phase = .required
            slots[Int(s)].tls.config = Int8(index)
            return true
        case let kind where (kind == .accepted || kind == .client) && !slots[Int(s)].tls.hasSession:
            return isClient ? tlsUpgradeClient(s, config: index, name: opts.name) : tlsStart(s, config: index)
        default:
            return false
        }
    }

    /// `tlsInit` where TLS cannot start: `.error(text)`, then the connection closes.
    private func refuseTls(_ s: Int32, _ text: StaticString) -> Bool {
        deliverError(s, text)
        scheduleClose(s)
        return false
    }

    /// After `.accept` on a TLS listener: start with the listener's options unless the
    /// handler started TLS itself.
    func tlsAfterAccept(_ s: Int32) {
        guard slots[Int(s)].kind.isConnection, slots[Int(s)].tls.phase == .required else { return }
        let config = slots[Int(s)].tls.config
        guard config >= 0 else {
            deliverError(s, "TLS: no certificate (give TlsOpts to listen, or call tlsInit on .accept)")
            scheduleClose(s)
            return
        }
        _ = tlsStart(s, config: Int32(config))
    }

    func tlsStart(_ s: Int32, config: Int32) -> Bool {
        guard let i = services.tlsSessions.take(for: s) ?? reclaimSession(for: s) else {
            deliverError(s, "TLS: every session is in use")
            scheduleClose(s)
            return false
        }
        guard mk_tls_session_start(services.tlsSessions.session(i), services.tlsConfigs.config(config), slots[Int(s)].fd) == 0 else {
            services.tlsSessions.give(i)
            deliverError(s, "TLS: cannot start a session")
            scheduleClose(s)
            return false
        }
        slots[Int(s)].tls.session = Int16(i)
        slots[Int(s)].tls.phase = .handshaking
        // A handshake holds a pair from start to end; with none free it waits for one
        // (its clock starts when it has one: the wait is ours, not the peer's).
        _ = tlsHoldPair(s)
        return !slots[Int(s)].flags.contains(.closing)
    }

    /// The pool is empty: the oldest handshake, if it has stalled past the grace period,
    /// gives its session up (a peer that opens handshakes and never finishes them cannot
    /// hold the pool for the whole handshake timeout); else the least recently active
    /// idle HTTPS connection does (ReclaimIdle.swift), so idle keep-alive connections
    /// cannot lock new clients out either.
    private func reclaimSession(for s: Int32) -> Int32? {
        let i = services.tlsSessions.handshaking.first
        if i >= 0 && now - services.tlsSessions.handshaking.stamp(i) >= Int64(limits.reclaimGraceMs) {
            let victim = services.tlsSessions.owner[Int(i)]
            evictions += 1
            deliverError(victim, "TLS: handshake stalled; session reclaimed")
            closeNow(victim)
        } else if !evictIdleForSession() {
            return nil
        }
        return services.tlsSessions.take(for: s)
    }

    // MARK: Handshake

    /// Advances the handshake; true once the connection carries application data.
    func tlsHandshake(_ s: Int32) -> Bool {
        guard tlsHoldPair(s) else { return false }
        let i = Int32(slots[Int(s)].tls.session)
        // Certificates' dates are checked against the trusted clock, not time() (tls.c).
        mk_tls_session_set_time(services.tlsSessions.session(i), timeMs / 1000)
        let r = Int(mk_tls_handshake(services.tlsSessions.session(i)))
        if r == 0 {
            services.tlsSessions.handshaking.remove(i)
            slots[Int(s)].tls.phase = .open
            services.tlsHandshakes += 1
            if mk_tls_resumed(services.tlsSessions.session(i)) != 0 { services.tlsResumed += 1 }
            if let key = tlsResumeKey(s) {
                services.tlsResume.save(services.tlsSessions.session(i), host: key.host, port: key.port, config: key.config)
            }
            if !hasOutput(s) { setInterest(s, .write, adding: false) }
            deliver(s, .tlsHandshake)
            // A client whose TLS came with its URL goes on; one upgraded later (`tlsInit`)
            // is up already.
            if isSecuringClient(s) { clientReady(s) }
            if hasOutput(s) { flush(s) }  // what the handler queued before
            return slots[Int(s)].kind.isConnection && !slots[Int(s)].flags.contains(.closing)
        }
        if r == -Int(EAGAIN) {
            if !hasOutput(s) { setInterest(s, .write, adding: false) }
        } else if r == Int(MK_TLS_WANT_WRITE) {
            setInterest(s, .write, adding: true)
        } else {
            if let key = tlsResumeKey(s) { services.tlsResume.forget(host: key.host, port: key.port, config: key.config) }
            deliverError(
                s, Manager.handshakeFailure(mk_tls_verify_failure(services.tlsSessions.session(i))),
                code: mk_tls_last_error(services.tlsSessions.session(i)))
            closeNow(s)
        }
        return false
    }

    /// Why a handshake failed, as the handler hears it: a client says what was wrong with
    /// the server's certificate.
    private static func handshakeFailure(_ verify: Int32) -> StaticString {
        switch Int(verify) {
        case MK_TLS_VERIFY_UNTRUSTED: return "TLS: certificate not trusted (unknown CA, or self-signed)"
        case MK_TLS_VERIFY_EXPIRED: return "TLS: certificate expired"
        case MK_TLS_VERIFY_NOT_YET_VALID: return "TLS: certificate not yet valid"
        case MK_TLS_VERIFY_NAME_MISMATCH: return "TLS: certificate is not for this host name"
        case MK_TLS_VERIFY_OTHER: return "TLS: certificate rejected"
        default: return "TLS: handshake failed"
        }
    }

    /// Starts a client's TLS session (SNI and the name check use `name`).
    /// Offers the session kept from its last connection to this server, if any.
    func tlsStartClient(_ s: Int32, config: Int32, name: String) -> Bool {
        guard tlsStart(s, config: config) else { return false }
        let i = Int32(slots[Int(s)].tls.session)
        if !name.isEmpty && name.withCString({ mk_tls_set_hostname(services.tlsSessions.session(i), $0) }) != 0 {
            deliverError(s, "TLS: bad server name")
            scheduleClose(s)
            return false
        }
        // Sessions are kept under the client's host: one checked under another name (a
        // STARTTLS `TlsOpts(name:)`) neither resumes nor is kept.
        let e = slots[Int(s)].client
        slots[Int(s)].tls.config = e >= 0 && services.clients.entries[Int(e)].host == name ? Int8(config) : -1
        if let key = tlsResumeKey(s) {
            _ = services.tlsResume.offer(services.tlsSessions.session(i), host: key.host, port: key.port, config: key.config)
        }
        return true
    }

    /// What a client's sessions are kept under: the server's name (SNI, the certificate
    /// check), its port and the TLS config.
    private func tlsResumeKey(_ s: Int32) -> (host: String, port: Int, config: Int32)? {
        let e = slots[Int(s)].client
        guard e >= 0, slots[Int(s)].kind == .client, slots[Int(s)].tls.config >= 0 else { return nil }
        let entry = services.clients.entries[Int(e)]
        return (entry.host, entry.port, Int32(slots[Int(s)].tls.config))
    }

    /// `tlsInit` on a client connection (STARTTLS, or TLS after a proxy's CONNECT): a
    /// TLS *client* session checking the URL's host (or `name`), its ClientHello sent now.
    private func tlsUpgradeClient(_ s: Int32, config: Int32, name: String) -> Bool {
        let host = name.isEmpty ? services.clients.entries[Int(slots[Int(s)].client)].host : name
        guard tlsStartClient(s, config: config, name: host) else { return false }
        _ = tlsHandshake(s)
        return true
    }

    /// Handshakes past `handshakeTimeoutMs` end, their sessions back in the pool.
    func expireHandshakes() {
        while let i = services.tlsSessions.handshaking.expired(now: now, timeout: Int64(limits.handshakeTimeoutMs)) {
            let s = services.tlsSessions.owner[Int(i)]
            deliverError(s, "TLS: handshake timed out", errno: ETIMEDOUT)
            closeNow(s)
        }
    }

    var handshakeDue: Int64 {
        let i = services.tlsSessions.handshaking.first
        return i >= 0 ? services.tlsSessions.handshaking.stamp(i) + Int64(limits.handshakeTimeoutMs) : Int64.max
    }

    // MARK: Bytes

    /// Reads from the socket, decrypting on a TLS connection: bytes, 0 at the peer's
    /// close, or -errno (-EAGAIN: nothing now).
    func tlsOrPlainRead(_ s: Int32, _ buf: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        let i = slots[Int(s)].tls.session
        guard i >= 0 else { return mk_read(slots[Int(s)].fd, buf, count) }
        guard tlsHoldPair(s) else { return -Int(EAGAIN) }
        let n = mk_tls_read(services.tlsSessions.session(Int32(i)), buf, count)
        return n == Int(MK_TLS_FAILED) ? -Int(EPROTO) : n
    }

    /// Writes to the socket, encrypting on a TLS connection (one record a call): bytes
    /// taken, or -errno. After -EAGAIN on TLS the same bytes must come first next time.
    func tlsOrPlainWrite(_ s: Int32, _ buf: UnsafeRawPointer?, _ count: Int) -> Int {
        let i = slots[Int(s)].tls.session
        let n: Int
        if i < 0 {
            n = mk_send(slots[Int(s)].fd, buf, count)
        } else {
            guard slots[Int(s)].tls.phase == .open, tlsHoldPair(s) else { return -Int(EAGAIN) }
            let w = mk_tls_write(services.tlsSessions.session(Int32(i)), buf, count)
            n = w == Int(MK_TLS_FAILED) ? -Int(EPROTO) : w
        }
        if n > 0 && slots[Int(s)].flags.contains(.hexdumping) {  // the buffer made only when dumping
            hexdumpWritten(s, UnsafeRawBufferPointer(start: buf, count: count), UnsafeRawBufferPointer(start: nil, count: 0), n)
        }
        return n
    }

    /// Writes all of `bytes` that the socket takes now, record by record.
    func tlsWriteAll(_ s: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var done = 0
        while done < bytes.count {
            let n = tlsOrPlainWrite(s, bytes.baseAddress! + done, bytes.count - done)
            if n <= 0 { return done == 0 ? n : done }
            done += n
        }
        return done
    }

    /// A record was built and waits to go out: its bytes count as taken.
    func tlsWritePending(_ s: Int32) -> Bool {
        let i = slots[Int(s)].tls.session
        return i >= 0 && mk_tls_write_pending(services.tlsSessions.session(Int32(i))) > 0
    }

    /// Decrypted or undecrypted input mbedTLS holds that the socket's readiness would
    /// not show: reading must go on without waiting for the poller.
    func tlsHasBufferedInput(_ s: Int32) -> Bool {
        let i = slots[Int(s)].tls.session
        return i >= 0 && slots[Int(s)].tls.phase == .open && mk_tls_read_pending(services.tlsSessions.session(Int32(i))) != 0
    }

    // MARK: Ending

    /// Sends close_notify (once, best effort) before our side of the socket shuts.
    func tlsCloseNotify(_ s: Int32) {
        let i = slots[Int(s)].tls.session
        guard i >= 0, slots[Int(s)].tls.phase == .open else { return }
        let session = services.tlsSessions.session(Int32(i))
        // Best effort: a parked session sends it only if a pair is free now.
        if mk_tls_unpark(session) == 0 {
            mk_tls_close_notify(session)
            if mk_tls_park(session) == 1 { tlsPairReturned() }
        }
        slots[Int(s)].tls.phase = .notified
    }

    /// The connection is closing: its session goes back to the pool.
    func tlsEnd(_ s: Int32) {
        let i = slots[Int(s)].tls.session
        guard i >= 0 else { return }
        if !slots[Int(s)].flags.contains(.lingering) { tlsCloseNotify(s) }
        services.tlsSessions.waiters.remove(s)
        mk_tls_session_end(services.tlsSessions.session(Int32(i)))
        services.tlsSessions.give(Int32(i))
        slots[Int(s)].tls = TlsState()
        tlsPairReturned()
    }

    // MARK: Record buffers (parking)

    /// `s`'s session holds a record-buffer pair, taken now if it had none (a start that
    /// waited for one finishes here). With none free, `s` waits in `waiters`: its socket
    /// is neither read nor written until a pair comes back (`tlsPairReturned`); under
    /// pressure a holder that makes no progress gives its pair up (`reclaimTlsPair`).
    func tlsHoldPair(_ s: Int32) -> Bool {
        let i = Int32(slots[Int(s)].tls.session)
        let parked = mk_tls_has_pair(services.tlsSessions.session(i)) == 0
        let r = Int(mk_tls_unpark(services.tlsSessions.session(i)))
        if r == 0 {
            if parked { services.tlsSessions.tookPair(i, now: now) }
            if slots[Int(s)].tls.phase == .handshaking && !services.tlsSessions.handshaking.contains(i) {
                services.tlsSessions.handshaking.append(i, now: now)
            }
            return true
        }
        if r == Int(MK_TLS_NO_PAIR) {
            if !services.tlsSessions.waiters.contains(s) {
                services.tlsSessions.waiters.append(s, ready: peekWholeUnit(s))
            }
            setInterest(s, .read, adding: false)
            setInterest(s, .write, adding: false)
        } else {
            deliverError(s, "TLS: cannot start a session")
            scheduleClose(s)
        }
        return false
    }

    /// `s` has nothing in flight: its session gives its pair back (parks), to the first
    /// connection waiting for one. Called whenever the loop is done with `s` for now.
    func tlsPark(_ s: Int32) {
        let i = slots[Int(s)].tls.session
        guard i >= 0, slots[Int(s)].tls.phase == .open,
            mk_tls_park(services.tlsSessions.session(Int32(i))) == 1
        else { return }
        tlsPairReturned()
    }

    /// Pairs came back: the connections waiting for one take them, first come first
    /// (those whose next record is whole in their socket ahead), and are read and
    /// written again. One that would get no event now (nothing to write, and its reading
    /// paused for a receive block, or nothing in its socket) gives the pair back at once
    /// rather than hold it until reclaim; it takes one again when it reads or writes.
    func tlsPairReturned() {
        while services.tlsSessions.freePairs > 0 {
            let w = services.tlsSessions.waiters.first
            guard w >= 0 else { return }
            services.tlsSessions.waiters.remove(w)
            guard slots[Int(w)].kind.isConnection, slots[Int(w)].tls.hasSession,
                !slots[Int(w)].flags.contains(.closing), tlsHoldPair(w)
            else { continue }
            let reads = slots[Int(w)].flags.isDisjoint(with: [.readPaused, .recvFull])
            let writes = hasOutput(w) || slots[Int(w)].tls.phase == .handshaking
            if reads { setInterest(w, .read, adding: true) }
            if writes { setInterest(w, .write, adding: true) }
            if !writes && (!reads || !socketHasBytes(w)) && slots[Int(w)].tls.phase == .open {
                _ = mk_tls_park(services.tlsSessions.session(Int32(slots[Int(w)].tls.session)))
            }
        }
    }

    /// Whether `s`'s socket has bytes (or the peer's close) to read now.
    private func socketHasBytes(_ s: Int32) -> Bool {
        var byte: UInt8 = 0
        return mk_peek(slots[Int(s)].fd, &byte, 1) != -Int(EAGAIN)
    }

    /// Once a poll, while connections wait for a pair and none is free: holders making no
    /// progress give their pairs up and are closed (`evict`), as many as wait: handshakes
    /// that have held theirs for the grace period, oldest first, then every open holder
    /// that has had its pair for the grace shared among the waiters (`tlsPairGraceMs`)
    /// and either moved no bytes through its socket for as long (a record trickled in part
    /// then stopped, output its peer does not read) or moved fewer a second than
    /// `tlsPairFloor` since it took the pair (a byte now and then, to look alive). An idle
    /// holder parks, so it is never taken; one still moving data keeps its pair. Progress
    /// is the socket's bytes, not plaintext: a 16 KB record sent at 35 KB/s shows none for
    /// 0.5 s, and with plaintext as the measure, 5 of 6 such uploads were closed mid-record
    /// (1 pair, 24 peers stalled on half records, host).
    func reclaimTlsPair() {
        guard services.tlsSessions.waiters.first >= 0, services.tlsSessions.freePairs == 0 else { return }
        var wanted = Int(services.tlsSessions.waiters.count)
        var h = services.tlsSessions.handshaking.first
        while wanted > 0 && h >= 0 && now - services.tlsSessions.handshaking.stamp(h) >= Int64(limits.reclaimGraceMs) {
            let v = services.tlsSessions.owner[Int(h)]
            h = services.tlsSessions.handshaking.after(h)
            guard isServedPeer(v) else { continue }
            deliverError(v, "TLS: handshake stalled; its record buffers reclaimed")
            evict(v)
            wanted -= 1
        }
        // Progress is counted from when the holder took its pair at the earliest: one
        // that waited for it (its last read before the wait) is not the stalled one. A
        // handshake has the whole grace (above): its server side is slow on the boards.
        let grace = tlsPairGraceMs
        let floor = tlsPairFloor
        for i in 0..<Int32(services.tlsSessions.capacity) where wanted > 0 {
            let o = services.tlsSessions.owner[Int(i)]
            guard o >= 0, slots[Int(o)].tls.phase == .open, isServedPeer(o), idleQueue.contains(o),
                mk_tls_has_pair(services.tlsSessions.session(i)) != 0,
                now - services.tlsSessions.pairSince[Int(i)] >= grace
            else { continue }
            let quiet = now - max(idleQueue.stamp(o), services.tlsSessions.wireMoved(i, now: now))
            let slow = services.tlsSessions.wireRate(i, now: now) < floor
            guard quiet >= grace || slow else { continue }
            evict(o)
            wanted -= 1
        }
    }

    /// The byte rate under which a pair's holder counts as stalled while others wait:
    /// `Limits.reclaimMinRate` per claimant of a pair (`sharedRate`, the receive pool's
    /// rule): 12.8 KB/s with 24 waiting for 1 pair, 13.3 KB/s with 200 for 8.
    private var tlsPairFloor: UInt64 {
        Manager.sharedRate(
            limits.reclaimMinRate, blocks: services.tlsSessions.pairStats.blocks, waiting: Int(services.tlsSessions.waiters.count))
    }

    /// How long a pair's holder may go without moving data while others wait for a pair:
    /// `reclaimGraceMs` shared among the waiters (`sharedGraceMs`). With the whole grace
    /// and one holder a look, peers that each send a whole record and half the next made
    /// a fresh client wait (waiters / pairs) graces: 11-18 s behind 200 of them on
    /// rpi3-armhf's 8 pairs (0.1-3 s with the shared grace). Never under an eighth of the grace (125 ms by default), so
    /// a client whose record comes in pieces a round trip apart keeps its pair.
    private var tlsPairGraceMs: Int64 {
        let grace = Int64(limits.reclaimGraceMs)
        let pairs = services.tlsSessions.pairStats.blocks
        return Manager.sharedGraceMs(grace, blocks: pairs, waiting: Int(services.tlsSessions.waiters.count), floorMs: grace / 8)
    }

    /// While connections wait for a pair: look again for a holder to reclaim this often.
    var tlsPairReclaimDue: Int64 {
        services.tlsSessions.waiters.first >= 0 ? now + max(tlsPairGraceMs / 4, 10) : Int64.max
    }
}

extension Connection {
    /// Starts TLS with `opts` (the docs' `tls_init`): on a connection, at `.accept` as the
    /// guide does (the handshake follows; `.tlsHandshake` when done); on a listener,
    /// once, for every connection it accepts; on a client that is up (from `.connect` on:
    /// STARTTLS, or TLS after a proxy's CONNECT), a TLS *client* that checks the server's
    /// certificate against `opts.ca` (the system's CAs when empty) and the name
    /// `opts.name` (the URL's host when empty). The certificate and key are parsed the
    /// first time these bytes are seen and shared afterwards. On failure (bad options,
    /// every session in use, a client not up yet: before `.connect`, a UDP socket or a
    /// watched descriptor) the handler gets `.error` and the connection closes; returns
    /// false.
    @discardableResult
    public func tlsInit(_ opts: TlsOpts) -> Bool {
        guard let s = try? openSlot() else { return false }
        return manager.tlsInit(s, opts)
    }
}

extension Manager {
    /// Memory one TLS session's struct takes: its mbedTLS context (what an idle TLS
    /// connection costs beyond a plain one, plus its keys; no record buffers).
    public static var tlsSessionBytes: Int { Int(mk_tls_session_bytes()) }
    /// Memory one record-buffer pair takes (`Limits.tlsBufferPairs` of them).
    public static var tlsPairBytes: Int { Int(mk_tls_pair_bytes()) }
}
