import CMeerkat

/// What `Manager.connect` can fail with at once (later failures arrive as `.error`).
public enum ConnectError: Error, Equatable {
    case badURL
    /// The connection table or the client table (`Limits.maxClients`) is full.
    case tableFull
    /// The host is not an IP literal, "localhost", nor in /etc/hosts (DNS comes with the
    /// resolver).
    case cannotResolve
    case tls(TlsError)
    /// The socket could not be made (errno).
    case system(Int32)
}

/// The client side of the loop: a non-blocking connect in the same table and fixed memory
/// as accepted connections; `.resolve` when the address is known, `.connect` when the
/// socket is up, then TLS (for https/wss), then the protocol: raw bytes, HTTP responses,
/// or a WebSocket upgrade that the library sends and checks.
extension Manager {
    /// Connects to `url` (`tcp://`, `http://`, `ws://`, `tls://`, `https://`, `wss://`;
    /// the docs' `connect`). The handler gets `.open` and `.resolve` before this returns,
    /// then `.connect`, then (https/wss) `.tlsHandshake`, then `.wsOpen` for a WebSocket.
    /// A refused connect, or one not up within `Limits.connectTimeoutMs`, gets `.error`
    /// then `.close`. `tls` defaults to verifying against the system's CAs; `protocols`
    /// is offered as Sec-WebSocket-Protocol.
    @discardableResult
    public func connect(_ url: String, tls: TlsOpts? = nil, protocols: String? = nil,
                        handler: Handler? = nil) throws(ConnectError) -> Connection {
        guard let parsed = ListenURL(url) else { throw .badURL }
        guard var address = resolve(parsed) else { throw .cannotResolve }
        var config: Int32 = -1
        if parsed.isTLS {
            do {
                config = try tlsConfigs.index(for: tls ?? TlsOpts(), server: false, limits: limits)
            } catch {
                throw .tls(error)
            }
        }
        guard counts.connections < limits.maxConnections, let s = takeSlot() else { throw .tableFull }
        guard let e = clients.take(for: s) else {
            giveBack(s)
            throw .tableFull
        }
        let fd = mk_connect(&address.raw)
        guard fd >= 0 else {
            clients.give(e)
            giveBack(s)
            throw .system(-fd)
        }
        counts.connections += 1
        slots[Int(s)].fd = fd
        slots[Int(s)].kind = .connection
        slots[Int(s)].proto = parsed.speaksHTTP ? .http : .tcp
        slots[Int(s)].client = e
        slots[Int(s)].handler = handler
        let kind: ClientState.Kind = parsed.scheme == .ws || parsed.scheme == .wss ? .websocket
            : (parsed.speaksHTTP ? .http : .tcp)
        clients.entries[Int(e)].kind = kind
        clients.entries[Int(e)].tlsConfig = config
        clients.entries[Int(e)].host = (tls?.name.isEmpty ?? true) ? parsed.name : tls!.name
        clients.entries[Int(e)].port = parsed.port
        clients.entries[Int(e)].path = parsed.path
        clients.entries[Int(e)].protocols = protocols ?? ""
        clients.connecting.append(Int32(e), now: now)
        setInterest(s, .write, adding: true)
        deliver(s, .open)
        deliver(s, .resolve)
        return connection(s)
    }

    /// The address for a URL's host: an IP literal, "localhost", or /etc/hosts (IPv4
    /// first). Without a resolver yet, nothing else.
    private func resolve(_ url: ListenURL) -> SocketAddress? {
        if let numeric = url.address() { return numeric }
        guard let hosts = try? File.contents("/etc/hosts", limit: 1 << 16) else { return nil }
        var name = url.name
        return hosts.withUnsafeBytes { file in
            name.withUTF8 { n in
                for ipv6 in [false, true] {
                    if let text = ResolverFiles.hostsLookup(ByteView(file), name: ByteView(UnsafeRawBufferPointer(n)),
                                                            ipv6: ipv6),
                       let address = SocketAddress(text.string, port: url.port) {
                        return address
                    }
                }
                return nil
            }
        }
    }

    /// The socket became writable (or failed) while connecting: up, or an error.
    func finishConnect(_ s: Int32) {
        let e = slots[Int(s)].client
        clients.connecting.remove(Int32(e))
        let err = mk_socket_error(slots[Int(s)].fd)
        guard err == 0 else {
            deliver(s, .error(Manager.connectFailure(err)))
            closeNow(s)
            return
        }
        idleQueue.append(s, now: now)
        setInterest(s, .write, adding: false)
        setInterest(s, .read, adding: true)
        // The session starts before `.connect`, so what the handler sends there waits for
        // the handshake instead of going out in plain text.
        let config = clients.entries[Int(e)].tlsConfig
        if config >= 0 {
            clients.entries[Int(e)].phase = .securing
            guard tlsStartClient(s, config: config, name: clients.entries[Int(e)].host) else { return }
        }
        deliver(s, .connect)
        guard slots[Int(s)].kind == .connection, !slots[Int(s)].flags.contains(.closing) else { return }
        if config >= 0 {
            _ = tlsHandshake(s)
        } else {
            clientReady(s)
        }
    }

    /// TCP (and TLS) are up: a WebSocket client sends its upgrade; others are open.
    func clientReady(_ s: Int32) {
        let e = Int(slots[Int(s)].client)
        if clients.entries[e].kind == .websocket {
            clients.entries[e].phase = .upgrading
            sendUpgradeRequest(s)
        } else {
            clients.entries[e].phase = .open
        }
    }

    /// Connects past `connectTimeoutMs` fail.
    func expireConnects() {
        while let e = clients.connecting.expired(now: now, timeout: Int64(limits.connectTimeoutMs)) {
            let s = clients.slotOf[Int(e)]
            clients.connecting.remove(e)
            deliver(s, .error("connect: timed out"))
            closeNow(s)
        }
    }

    var connectDue: Int64 {
        let e = clients.connecting.first
        return e >= 0 ? clients.connecting.stamp(e) + Int64(limits.connectTimeoutMs) : Int64.max
    }

    /// The slot closes: its client entry goes back.
    func clientEnd(_ s: Int32) {
        let e = slots[Int(s)].client
        guard e >= 0 else { return }
        clients.give(e)
        slots[Int(s)].client = -1
    }

    private static func connectFailure(_ errno: Int32) -> StaticString {
        switch errno {
        case ECONNREFUSED: return "connect: connection refused"
        case ETIMEDOUT: return "connect: timed out"
        case EHOSTUNREACH, ENETUNREACH: return "connect: no route to host"
        default: return "connect: failed"
        }
    }
}

extension Connection {
    /// A connection this side opened with `Manager.connect` (the docs' `is_client`).
    public var isClient: Bool { liveSlot.map { manager.slots[Int($0)].client >= 0 } ?? false }
}

extension Manager {
    /// Watches a descriptor that is not a socket (stdin, a serial port, a GPIO event
    /// file), made non-blocking: each read arrives as `.read` with the bytes in
    /// `conn.received` (consume them), under the same back-pressure as a connection; end
    /// of file closes it (`.close`). It takes a slot of the connection table, and no idle
    /// timeout applies. Throws `.system` when the poller cannot watch it (a regular file).
    @discardableResult
    public func watch(_ fd: Int32, handler: Handler? = nil) throws(ConnectError) -> Connection {
        guard counts.connections < limits.maxConnections, let s = takeSlot() else { throw .tableFull }
        let err = mk_set_nonblocking(fd)
        guard err == 0, poller.add(fd, token: UInt64(s), .read) else {
            giveBack(s)
            throw .system(err == 0 ? EPERM : -err)
        }
        counts.connections += 1
        slots[Int(s)].fd = fd
        slots[Int(s)].kind = .connection
        slots[Int(s)].proto = .tcp
        slots[Int(s)].flags = [.watched, .inPoller]
        slots[Int(s)].interest = .read
        slots[Int(s)].handler = handler
        deliver(s, .open)
        return connection(s)
    }
}
