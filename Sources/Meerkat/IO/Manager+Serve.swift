import CMeerkat

/// Sockets accepted elsewhere, served here.
extension Manager {
    /// Serves a socket that was accepted elsewhere (systemd socket activation, inetd, a
    /// socket pair in a test) as a connection of a plain `http://` listener with this
    /// handler: `.open`, `.accept`, then requests as usual. The manager owns `fd` from
    /// here (made non-blocking, closed with the connection). Throws `.tableFull` when
    /// the connection table is full, `.system` when `fd` cannot be made non-blocking;
    /// after a throw `fd` is still the caller's to close.
    @discardableResult
    public func serve(accepted fd: Int32, handler: Handler? = nil) throws(ConnectError) -> Connection {
        guard counts.connections < limits.maxConnections, let s = takeSlot() else { throw .tableFull }
        let err = mk_set_nonblocking(fd)
        guard err == 0 else {
            giveBack(s)
            throw .system(-err)
        }
        let conn = connection(s)  // taken before the handler runs: `.open` may close it
        startAccepted(s, fd: fd, proto: .http, handler: handler)
        return conn
    }
}
