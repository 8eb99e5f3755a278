import CMeerkat

/// What `Manager.connect` can fail with at once (later failures arrive as `.error`).
public enum ConnectError: Error, Equatable {
    case badURL
    /// The connection table or the client table (`Limits.maxClients`) is full.
    case tableFull
    /// The host is not an IP literal, "localhost", nor in /etc/hosts, and it cannot be
    /// asked: not a valid host name, or no nameserver (`Manager.dnsServer`, resolv.conf).
    case cannotResolve
    case tls(TlsError)
    /// The socket could not be made (errno).
    case system(Int32)
}

extension ConnectError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .badURL: return "not a URL"
        case .tableFull: return "no free connection"
        case .cannotResolve: return "cannot resolve the host (no such name in /etc/hosts, and no nameserver)"
        case let .tls(e): return e.description
        case let .system(errno): return systemErrorText(errno)
        }
    }
}

/// The client side of the loop: a non-blocking connect in the same table and fixed memory
/// as accepted connections; `.resolve` when the address is known, `.connect` when the
/// socket is up, then TLS (for https/wss), then the protocol: raw bytes, HTTP responses,
/// or a WebSocket upgrade that the library sends and checks.
extension Manager {
    /// Connects to `url` (`tcp://`, `udp://`, `http://`, `ws://`, `tls://`, `https://`,
    /// `wss://`; the docs' `connect`). The handler gets `.open` before this returns,
    /// `.resolve` once the address is known (at once for an IP, "localhost" or an
    /// /etc/hosts name; else when the nameserver answers), then `.connect`, then
    /// (https/wss) `.tlsHandshake`, then `.wsOpen` for a WebSocket. A failed lookup, a
    /// refused connect, or one not up within `Limits.connectTimeoutMs`, gets `.error`
    /// then `.close`. `tls` defaults to verifying against the system's CAs; `protocols`
    /// is offered as Sec-WebSocket-Protocol. A `udp://` client sends each `send` as one
    /// datagram (`.sendBufferFull` when the socket cannot take it now) and gets each
    /// datagram as a `.read`.
    @discardableResult
    public func connect(
        _ url: String, tls: TlsOpts? = nil, protocols: String? = nil,
        handler: Handler? = nil
    ) throws(ConnectError) -> Connection {
        guard let parsed = EndpointURL(url) else { throw .badURL }
        let known = knownAddress(parsed)
        guard known != nil || canAsk(parsed.name) else { throw .cannotResolve }
        var config: Int32 = -1
        if parsed.isTLS {
            do {
                let alpn = parsed.scheme == .mqtts ? "mqtt" : parsed.speaksHTTP ? "http/1.1" : ""
                config = try services.tlsConfigs.index(
                    for: tls ?? TlsOpts(), server: false, defaultALPN: alpn, limits: limits)
            } catch {
                throw .tls(error)
            }
        }
        guard counts.connections < limits.maxConnections, let s = takeSlot() else { throw .tableFull }
        guard let e = services.clients.take(for: s) else {
            giveBack(s)
            throw .tableFull
        }
        let kind: ClientState.Kind =
            parsed.scheme == .ws || parsed.scheme == .wss
            ? .websocket
            : parsed.speaksHTTP ? .http : parsed.scheme == .udp ? .udp : .tcp
        if let address = known {
            let fd = openSocket(kind, to: address)
            guard fd >= 0 else {
                services.clients.give(e)
                giveBack(s)
                throw .system(-fd)
            }
            slots[Int(s)].fd = fd
        }
        counts.connections += 1
        slots[Int(s)].kind = kind == .udp ? .datagram : .client
        slots[Int(s)].proto = parsed.speaksHTTP ? .http : .tcp
        slots[Int(s)].client = e
        slots[Int(s)].handler = handler
        services.clients.entries[Int(e)].kind = kind
        services.clients.entries[Int(e)].tlsConfig = config
        services.clients.entries[Int(e)].timeWaitMs = config >= 0 ? timeWaitMs(tls) : 0
        services.clients.entries[Int(e)].name = parsed.name
        services.clients.entries[Int(e)].host = (tls?.name.isEmpty ?? true) ? parsed.name : tls!.name
        services.clients.entries[Int(e)].port = parsed.port
        services.clients.entries[Int(e)].path = parsed.path
        services.clients.entries[Int(e)].protocols = protocols ?? ""
        // Resolving, or in the connect list, before `.open`: a handler that sends or
        // starts TLS there is refused as before `.connect` (the socket is not up).
        if known != nil {
            services.clients.connecting.append(Int32(e), now: now)
        } else {
            services.clients.entries[Int(e)].phase = .resolving
        }
        deliver(s, .open)
        if known != nil {
            awaitConnect(s)
        } else {
            ask(e)
        }
        return connection(s)
    }

    /// A TCP connect under way, or a UDP socket (up at once), of the address's family;
    /// the fd or -errno.
    private func openSocket(_ kind: ClientState.Kind, to address: SocketAddress) -> Int32 {
        var raw = address.raw
        return kind == .udp ? mk_udp_connect(&raw) : mk_connect(&raw)
    }

    /// The resolver found the address: the connect starts.
    func startConnect(_ s: Int32, to address: SocketAddress) {
        let e = slots[Int(s)].client
        let fd = openSocket(services.clients.entries[Int(e)].kind, to: address)
        guard fd >= 0 else {
            deliverError(s, "connect: no socket (see lastErrno)", errno: -fd)
            closeNow(s)
            return
        }
        slots[Int(s)].fd = fd
        services.clients.entries[Int(e)].phase = .connecting
        connecting(s)
    }

    /// The address is known and the socket made: `.resolve`, then wait for it to be up
    /// (writable).
    private func connecting(_ s: Int32) {
        services.clients.connecting.append(Int32(slots[Int(s)].client), now: now)
        awaitConnect(s)
    }

    /// In the connect list already: wait for the socket to be writable, after `.resolve`.
    private func awaitConnect(_ s: Int32) {
        setInterest(s, .write, adding: true)
        deliver(s, .resolve)
    }

    /// The socket became writable (or failed) while connecting: up, or an error.
    func finishConnect(_ s: Int32) {
        let e = slots[Int(s)].client
        services.clients.connecting.remove(Int32(e))
        let err = mk_socket_error(slots[Int(s)].fd)
        guard err == 0 else {
            deliverError(s, Manager.connectFailure(err), errno: err)
            closeNow(s)
            return
        }
        setInterest(s, .write, adding: false)
        if services.clients.entries[Int(e)].timeWaitMs > 0 && !timeSynced {
            awaitTime(s)
            return
        }
        clientUp(s)
    }

    /// TCP is up (and the time known, if TLS waited for it): TLS starts, `.connect`.
    func clientUp(_ s: Int32) {
        let e = slots[Int(s)].client
        idleQueue.append(s, now: now)
        setInterest(s, .read, adding: true)
        // The session starts before `.connect`, so what the handler sends there waits for
        // the handshake instead of going out in plain text.
        let config = services.clients.entries[Int(e)].tlsConfig
        if config >= 0 {
            services.clients.entries[Int(e)].phase = .securing
            guard tlsStartClient(s, config: config, name: services.clients.entries[Int(e)].host) else { return }
        }
        deliver(s, .connect)
        guard slots[Int(s)].kind.isConnection, !slots[Int(s)].flags.contains(.closing) else { return }
        if config >= 0 {
            _ = tlsHandshake(s)
        } else {
            clientReady(s)
        }
    }

    /// TCP (and TLS) are up: a WebSocket client sends its upgrade; others are open.
    func clientReady(_ s: Int32) {
        let e = Int(slots[Int(s)].client)
        if services.clients.entries[e].kind == .websocket {
            services.clients.entries[e].phase = .upgrading
            sendUpgradeRequest(s)
        } else {
            services.clients.entries[e].phase = .open
            serviceClientUp(s)
        }
    }

    /// A client whose TLS handshake is part of its connect (a TLS URL), not yet done.
    func isSecuringClient(_ s: Int32) -> Bool {
        let e = slots[Int(s)].client
        return e >= 0 && slots[Int(s)].kind.isConnection && services.clients.entries[Int(e)].phase == .securing
    }

    /// A client still resolving or connecting: nothing can be sent before `.connect`.
    func clientNotUp(_ s: Int32) -> Bool {
        let e = slots[Int(s)].client
        guard e >= 0 else { return false }
        let phase = services.clients.entries[Int(e)].phase
        return phase == .resolving || phase == .awaitingTime || services.clients.connecting.contains(Int32(e))
    }

    /// Connects past `connectTimeoutMs` fail.
    func expireConnects() {
        while let e = services.clients.connecting.expired(now: now, timeout: Int64(limits.connectTimeoutMs)) {
            let s = services.clients.slotOf[Int(e)]
            services.clients.connecting.remove(e)
            deliverError(s, "connect: timed out (ETIMEDOUT)", errno: ETIMEDOUT)
            closeNow(s)
        }
    }

    var connectDue: Int64 {
        let e = services.clients.connecting.first
        return e >= 0 ? services.clients.connecting.stamp(e) + Int64(limits.connectTimeoutMs) : Int64.max
    }

    /// The slot closes: its client entry goes back.
    func clientEnd(_ s: Int32) {
        let e = slots[Int(s)].client
        guard e >= 0 else { return }
        services.dns.waiting.remove(Int32(e))
        if services.clients.entries[Int(e)].phase == .awaitingTime { services.timeWaiting -= 1 }
        mqttEnd(s)
        services.clients.give(e)
        slots[Int(s)].client = -1
    }

    /// The errno's name is in the text; its number is `conn.lastErrno`.
    private static func connectFailure(_ errno: Int32) -> StaticString {
        switch errno {
        case ECONNREFUSED: return "connect: connection refused (ECONNREFUSED)"
        case ETIMEDOUT: return "connect: timed out (ETIMEDOUT)"
        case EHOSTUNREACH: return "connect: no route to host (EHOSTUNREACH)"
        case ENETUNREACH: return "connect: network unreachable (ENETUNREACH)"
        case ECONNRESET: return "connect: connection reset (ECONNRESET)"
        case EACCES: return "connect: permission denied (EACCES)"
        case EPERM: return "connect: not permitted (EPERM)"
        case EADDRNOTAVAIL: return "connect: no local address free (EADDRNOTAVAIL)"
        default: return "connect: failed (see lastErrno)"
        }
    }
}

extension Connection {
    /// A connection this side opened with `Manager.connect` (the docs' `is_client`).
    public var isClient: Bool { liveSlot.map { manager.slots[Int($0)].kind.isOurs } ?? false }
}
