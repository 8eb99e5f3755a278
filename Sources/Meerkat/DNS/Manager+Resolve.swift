import CMeerkat

/// Where the resolver meets the loop: a client whose host is a name the board does not
/// know itself asks the nameserver over UDP (no thread, no getaddrinfo), in the fixed
/// query table. A query not answered well within `Limits.dnsTimeoutMs` goes out again,
/// `Limits.dnsTries` times in all; an answer that fails a check is ignored. The
/// preferred family is asked first, the other when the name has no record of it.
extension Manager {
    static let resolverToken = UInt64.max - 1

    /// The nameserver clients ask ("udp://IP:PORT", or an IP for port 53); nil reads
    /// the first `nameserver` of /etc/resolv.conf. Mongoose's `dns4.url`.
    public var dnsServer: String? {
        get { services.dnsServer }
        set { services.dnsServer = newValue }
    }

    /// Ask for AAAA (IPv6) records first, A only when the name has none; and take an
    /// IPv6 line of /etc/hosts over an IPv4 one. Off: IPv4 first.
    public var dnsPreferIPv6: Bool {
        get { services.dnsPreferIPv6 }
        set { services.dnsPreferIPv6 = newValue }
    }

    /// The address of a host without asking the network: an IP literal, "localhost", or
    /// /etc/hosts (the preferred family first).
    func knownAddress(_ url: EndpointURL) -> SocketAddress? {
        if let numeric = url.address() { return numeric }
        guard let hosts = try? File.contents("/etc/hosts", limit: 1 << 16) else { return nil }
        var name = url.name
        let families = services.dnsPreferIPv6 ? [true, false] : [false, true]
        return hosts.withUnsafeBytes { file in
            name.withUTF8 { n in
                for ipv6 in families {
                    if let text = ResolverFiles.hostsLookup(
                        ByteView(file), name: ByteView(UnsafeRawBufferPointer(n)),
                        ipv6: ipv6),
                        let address = SocketAddress(text.string, port: url.port)
                    {
                        return address
                    }
                }
                return nil
            }
        }
    }

    /// Whether `name` can be asked: it is a valid host name and the socket to the
    /// nameserver (`dnsServer`, else resolv.conf's first) is open.
    func canAsk(_ name: String) -> Bool {
        var text = name
        let valid = text.withUTF8 { n in
            DnsMessage.writeQuery(
                id: 0, name: ByteView(UnsafeRawBufferPointer(n)), type: DnsMessage.typeA,
                into: services.dns.packet) != nil
        }
        guard valid, let server = nameserver() else { return false }
        if services.dns.fd >= 0 && services.dns.server == server { return true }
        closeResolver()
        guard services.dns.open(to: server) else { return false }
        if poller.add(services.dns.fd, token: Manager.resolverToken, .read) { return true }
        services.dns.close()
        return false
    }

    /// Closes the resolver socket (the nameserver changed, or the manager closes).
    func closeResolver() {
        guard services.dns.fd >= 0 else { return }
        poller.remove(services.dns.fd)
        services.dns.close()
    }

    /// `dnsServer` ("udp://IP:PORT" or an IP, port 53), else the first nameserver of
    /// /etc/resolv.conf.
    private func nameserver() -> SocketAddress? {
        if let text = services.dnsServer {
            if let url = EndpointURL(text), url.scheme == .udp { return url.address() }
            return SocketAddress(text, port: 53)
        }
        guard let conf = try? File.contents("/etc/resolv.conf", limit: 1 << 16) else { return nil }
        return conf.withUnsafeBytes { file in
            ResolverFiles.nameserver(ByteView(file)).flatMap { SocketAddress($0.string, port: 53) }
        }
    }

    /// Starts the lookup for client entry `e` (its name checked by `canAsk`).
    func ask(_ e: Int16) {
        services.dns.triedOther[Int(e)] = false
        services.dns.begin(Int32(e), type: services.dnsPreferIPv6 ? DnsMessage.typeAAAA : DnsMessage.typeA)
        sendQuery(Int32(e))
    }

    /// Sends (again) entry `e`'s query; a send that fails is retried on the timeout.
    private func sendQuery(_ e: Int32) {
        var name = services.clients.entries[Int(e)].name
        let length = name.withUTF8 { n in
            DnsMessage.writeQuery(
                id: services.dns.ids[Int(e)], name: ByteView(UnsafeRawBufferPointer(n)),
                type: services.dns.types[Int(e)], into: services.dns.packet) ?? 0
        }
        _ = mk_send(services.dns.fd, services.dns.packet.baseAddress, length)
        services.dns.sends[Int(e)] += 1
        services.dns.waiting.append(e, now: now)
    }

    /// Reads every datagram waiting on the resolver socket and acts on the good ones.
    func readAnswers() {
        while true {
            let length = mk_recv_datagram(services.dns.fd, services.dns.packet.baseAddress, services.dns.packet.count)
            if length < 0 && (-length == Int(EAGAIN) || -length == Int(EINTR)) { return }
            // ECONNREFUSED: the nameserver's port is closed (ICMP); the timeout retries.
            guard length >= 2 else { continue }
            // Longer than the buffer: cut to it, and parsed as far as it goes.
            let n = min(length, services.dns.packet.count)
            let p = services.dns.packet.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let e = services.dns.entry(for: UInt16(p[0]) << 8 | UInt16(p[1])) else { continue }
            var name = services.clients.entries[Int(e)].name
            let answer = name.withUTF8 { nameBytes in
                DnsMessage.parseAnswer(
                    UnsafeRawBufferPointer(start: services.dns.packet.baseAddress, count: Int(n)),
                    id: services.dns.ids[Int(e)], name: ByteView(UnsafeRawBufferPointer(nameBytes)),
                    type: services.dns.types[Int(e)], addresses: services.dns.addresses, cut: length > n)
            }
            take(answer, for: e)
        }
    }

    private func take(_ answer: DnsMessage.Answer, for e: Int32) {
        let s = services.clients.slotOf[Int(e)]
        switch answer {
        case .ignored:
            return
        case .addresses:
            services.dns.waiting.remove(e)
            var raw = mk_addr()
            let isV6 = services.dns.types[Int(e)] == DnsMessage.typeAAAA
            withUnsafeMutableBytes(of: &raw.ip) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: services.dns.addresses[0..<16])) }
            raw.port = UInt16(truncatingIfNeeded: services.clients.entries[Int(e)].port)  // a parsed URL's: 0...65535
            raw.is_ipv6 = isV6 ? 1 : 0
            startConnect(s, to: SocketAddress(raw: raw))
        case .noData where !services.dns.triedOther[Int(e)]:
            services.dns.triedOther[Int(e)] = true
            services.dns.begin(e, type: services.dns.types[Int(e)] == DnsMessage.typeA ? DnsMessage.typeAAAA : DnsMessage.typeA)
            sendQuery(e)
        case .noData:
            failLookup(s, "dns: the name has no address")
        case .noSuchName:
            failLookup(s, "dns: no such host", code: 3)  // NXDOMAIN
        case .truncated:
            failLookup(s, "dns: truncated answer (too long for UDP)")
        case let .serverError(rcode):
            failLookup(s, "dns: server error", code: Int32(rcode))
        }
    }

    private func failLookup(_ s: Int32, _ why: StaticString, errno: Int32 = 0, code: Int32 = 0) {
        services.dns.waiting.remove(Int32(slots[Int(s)].client))
        deliverError(s, why, errno: errno, code: code)
        closeNow(s)
    }

    /// Queries past `dnsTimeoutMs` go out again, or fail after `dnsTries` sends.
    func expireQueries() {
        while let e = services.dns.waiting.expired(now: now, timeout: Int64(limits.dnsTimeoutMs)) {
            if Int(services.dns.sends[Int(e)]) < limits.dnsTries {
                sendQuery(e)
            } else {
                failLookup(services.clients.slotOf[Int(e)], "dns: no answer in time", errno: ETIMEDOUT)
            }
        }
    }

    var queryDue: Int64 {
        let e = services.dns.waiting.first
        return e >= 0 ? services.dns.waiting.stamp(e) + Int64(limits.dnsTimeoutMs) : Int64.max
    }
}
