import CMeerkat

/// Listening sockets: the scheme picks the protocol a listener's connections speak.
extension Manager {
    /// Listens on `url` (`http://0.0.0.0:8000`, `https://[::1]:8443`, `wss://…`, `tcp://…`).
    /// The scheme decides the protocol; `http: true` makes a `tcp://`/`tls://` listener
    /// speak HTTP. `handler` is inherited by every connection this listener accepts. A
    /// TLS scheme takes its certificate from `tls`, or from the handler's
    /// `conn.tlsInit(opts)` on `.accept` (the guide's way). Port 0 picks a free port:
    /// read it back from the returned connection's `localAddress`.
    @discardableResult
    public func listen(
        _ url: String, http: Bool = false, tls: TlsOpts? = nil,
        handler: Handler? = nil
    ) throws(ListenError) -> Connection {
        guard let parsed = EndpointURL(url), !parsed.isConnectOnly, var address = parsed.address() else { throw .badURL }
        guard !parsed.isTLS || limits.tlsSlots > 0 else { throw .tlsUnavailable }
        var tlsConfig: Int32 = -1
        if let opts = tls {
            do {
                tlsConfig = try services.tlsConfigs.index(
                    for: opts, server: true, defaultALPN: parsed.speaksHTTP || http ? "http/1.1" : "", limits: limits)
            } catch {
                throw .tls(error)
            }
        }
        guard counts.listeners < limits.maxListeners, let s = takeSlot() else { throw .tableFull }
        // The kernel's accept queue holds as many as the table: a burst of connects the
        // loop has not accepted yet overflowed a queue of 128 (under load, 512 clients
        // connecting at once), and Linux then answered with SYN cookies; a client whose
        // handshake ACK was dropped sent its request, and its later segments failed the
        // cookie check and were reset (34-76 of 512 honest POSTs, "connection reset", no
        // eviction). The kernel caps it at net.core.somaxconn; no memory of ours.
        let fd = mk_listen(&address.raw, Int32(min(limits.maxConnections, Int(Int32.max))))
        guard fd >= 0 else {
            giveBack(s)
            throw .system(-fd)
        }
        counts.listeners += 1
        slots[Int(s)].fd = fd
        slots[Int(s)].kind = .listener
        slots[Int(s)].proto = (parsed.speaksHTTP || http) ? .http : .tcp
        slots[Int(s)].handler = handler
        if parsed.isTLS || tlsConfig >= 0 {
            slots[Int(s)].tls.phase = .required
            slots[Int(s)].tls.config = Int8(tlsConfig)
        }
        setInterest(s, .read, adding: true)
        return connection(s)
    }
}
