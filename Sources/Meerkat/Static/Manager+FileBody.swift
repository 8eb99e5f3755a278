import CMeerkat

/// A reply body sent from a file descriptor as the socket drains (`FileSends`): the
/// held body of a connection whose owner is `.file(entry)`.
extension Manager {
    /// The head is queued: the file's `length` bytes follow it.
    func holdFile(_ s: Int32, _ e: Int32, length: UInt64) {
        let hadOutput = hasOutput(s)
        slots[Int(s)].held = HeldBody(
            base: nil, count: Int(min(length, UInt64(Int.max))),
            before: Int32(slots[Int(s)].sendCount), owner: .file(e))
        if !hadOutput {
            sendQueue.append(s, now: now)
            setInterest(s, .write, adding: true)
        }
    }

    /// Sends what the socket takes of entry `e`: sendfile on a plain socket, a read into
    /// the TLS scratch and a record on a TLS one. Bytes sent, or -errno; a file that
    /// ends early (truncated while sent) fails the connection.
    func sendFromFile(_ s: Int32, _ e: Int32) -> Int {
        let entry = services.fileSends.entries[Int(e)]
        let chunk = Int(min(entry.remaining, 1 << 20))
        var n: Int
        if slots[Int(s)].tls.hasSession {
            let got = mk_pread(entry.fd, services.tlsScratch, min(chunk, limits.sendBufferSize), entry.offset)
            guard got > 0 else { return got == 0 ? -Int(EIO) : got }
            n = transportWrite(s, services.tlsScratch, got)
            if n > 0 { services.fileSends.entries[Int(e)].offset += UInt64(n) }
        } else {
            n = mk_sendfile(slots[Int(s)].fd, entry.fd, &services.fileSends.entries[Int(e)].offset, chunk)
            if n == 0 { return -Int(EIO) }
        }
        guard n > 0 else { return n }
        services.fileSends.entries[Int(e)].remaining -= UInt64(n)
        let left = services.fileSends.entries[Int(e)].remaining
        if left == 0 {
            services.fileSends.give(e)
            slots[Int(s)].held = HeldBody()
        } else {
            slots[Int(s)].held.count = Int(min(left, UInt64(Int.max)))
        }
        return n
    }

    /// The held body is dropped (the connection closes or is evicted): a file's entry
    /// and descriptor go back.
    func dropHeld(_ s: Int32) {
        if case let .file(e) = slots[Int(s)].held.owner { services.fileSends.give(e) }
        slots[Int(s)].held = HeldBody()
    }
}
