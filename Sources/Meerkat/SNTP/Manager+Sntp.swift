import CMeerkat

/// The SNTP client (the docs' `sntp_connect`): a `udp://` client whose datagrams are
/// SNTP. It asks once it is up (after `.connect`), and again on `conn.sntpRequest()`;
/// each good answer syncs the manager's clock (`timeMs`, Manager+Time.swift), then is
/// one `.sntpTime(ms)` (Unix time in ms); an answer that is not to
/// our request is ignored; none in time is asked again (`SntpQueries.tries` in all,
/// `SntpQueries.timeoutMs` apart), then `.error` and the connection closes. A server's
/// kiss-o'-death is an `.error` and a close. It joins the loop through
/// Core/Services.swift alone.
extension Manager {
    /// Opens an SNTP client to `url` (`udp://time.google.com:123`; the port defaults to
    /// 123). Throws as `connect` does, and `.tableFull` when every client entry is taken.
    @discardableResult
    public func sntpConnect(_ url: String = "udp://time.google.com:123", handler: Handler? = nil) throws(ConnectError)
        -> Connection
    {
        let target = url.hasPrefix("udp://") ? url : "udp://" + url
        let withPort = EndpointURL(target).map { $0.port != 0 } == true ? target : target + ":123"
        guard EndpointURL(withPort)?.scheme == .udp else { throw .badURL }
        let conn = try connect(withPort, handler: handler)
        guard let s = live(conn) else { return conn }  // `.open` closed it
        guard services.sntp.take(for: s) != nil else {
            closeNow(s)
            throw .tableFull
        }
        slots[Int(s)].proto = .sntp
        return conn
    }

    /// The client is up: the first request goes out.
    func sntpUp(_ s: Int32) {
        guard slots[Int(s)].proto == .sntp else { return }
        sntpRequest(s)
    }

    /// Sends a request with a fresh cookie (the answer to an older one is ignored from
    /// now on).
    func sntpRequest(_ s: Int32, retry: Bool = false) {
        guard let i = services.sntp.find(s), !clientNotUp(s) else { return }
        var cookie: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &cookie) { mk_random($0.baseAddress, 8) }
        services.sntp.entries[i].cookie = cookie
        services.sntp.entries[i].sentMs = now
        services.sntp.entries[i].tries = retry ? services.sntp.entries[i].tries + 1 : 1
        let out = UnsafeMutableRawBufferPointer(start: headScratch, count: SntpPacket.size)
        SntpPacket.request(out, cookie: cookie)
        // A datagram the socket cannot take now is lost like one lost on the way: the
        // retry covers both.
        try? enqueue(s, UnsafeRawBufferPointer(out), UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// A datagram arrived (one per read).
    func processSntp(_ s: Int32) {
        let n = slots[Int(s)].recvCount
        defer { consume(s, n) }
        guard let i = services.sntp.find(s), services.sntp.entries[i].tries > 0 else { return }
        let e = services.sntp.entries[i]
        switch SntpPacket.parse(UnsafeRawBufferPointer(receiveBuffer(s)), cookie: e.cookie, roundTripMs: now - e.sentMs) {
        case .time(let ms):
            services.sntp.entries[i].tries = 0
            timeAnswered(ms)
            deliver(s, .sntpTime(ms))
        case .kissOfDeath:
            services.sntp.entries[i].tries = 0
            deliverError(s, "sntp: the server sent kiss-o'-death (stratum 0): it asks not to be asked")
            scheduleClose(s)
        case .invalid:
            return
        }
    }

    var sntpDue: Int64 { services.sntp.due }

    /// Late answers: asked again, or given up.
    func expireSntp() {
        guard services.sntp.inUse > 0 else { return }
        for i in 0..<services.sntp.capacity {
            let e = services.sntp.entries[i]
            guard e.slot >= 0, e.tries > 0, now - e.sentMs >= SntpQueries.timeoutMs else { continue }
            if e.tries < SntpQueries.tries {
                sntpRequest(e.slot, retry: true)
            } else {
                services.sntp.entries[i].tries = 0
                deliverError(e.slot, "sntp: no answer in time", errno: ETIMEDOUT)
                closeNow(e.slot)
            }
        }
    }

    func sntpEnd(_ s: Int32) {
        if slots[Int(s)].proto == .sntp { services.sntp.give(s) }
    }
}

extension Connection {
    /// Asks the SNTP server again (the docs' `sntp_request`); the answer comes as
    /// `.sntpTime`. Does nothing on a connection that is not an SNTP client.
    public func sntpRequest() {
        guard let s = liveSlot else { return }
        manager.sntpRequest(s)
    }
}
