import CMeerkat

/// Descriptors the loop did not open and that are not sockets (see Manager+Serve.swift
/// for accepted sockets).
extension Manager {
    /// Watches a descriptor that is not a socket (stdin, a serial port, a GPIO event
    /// file), made non-blocking: each read arrives as `.read` with the bytes in
    /// `conn.received` (consume them), under the same back-pressure as a connection; end
    /// of file closes it (`.close`). It takes a slot of the connection table, and no idle
    /// timeout applies. The connection owns `fd`: closing it closes the descriptor, so the
    /// app must not close it again (the number may by then be another socket's). Throws
    /// `.system` when the poller cannot watch it (a regular file).
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
        slots[Int(s)].kind = .watched
        slots[Int(s)].proto = .tcp
        slots[Int(s)].flags = [.inPoller]
        slots[Int(s)].interest = .read
        slots[Int(s)].handler = handler
        deliver(s, .open)
        return connection(s)
    }
}
