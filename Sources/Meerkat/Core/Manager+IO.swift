import CMeerkat

/// The socket side of the loop: accept, read, write, drain and close.
extension Manager {
    func handleReady(_ s: Int32, _ r: Poller.Ready) {
        guard s >= 0 && Int(s) < tableSize else { return }
        switch slots[Int(s)].kind {
        case .free:
            return
        case .listener:
            if r.readable || r.failed { acceptAll(s) }
        case .accepted, .client, .datagram, .watched, .rejecting:
            if isConnecting(s) {
                // One the handler failed before it was up closes without a `.connect`.
                if (r.writable || r.failed) && !slots[Int(s)].flags.contains(.closing) { serviceConnectDone(s) }
                return
            }
            if r.writable { flush(s) }
            if r.readable || r.failed { readAll(s) }
            if slots[Int(s)].kind.isConnection { transportSettled(s) }
        }
    }

    // MARK: Accept

    private func acceptAll(_ l: Int32) {
        let listenFd = slots[Int(l)].fd
        for _ in 0..<64 {
            var peer = mk_addr()
            let fd = mk_accept(listenFd, &peer)
            if fd < 0 {
                if -fd == ECONNABORTED || -fd == EINTR { continue }
                if -fd == EMFILE || -fd == ENFILE || -fd == ENOBUFS || -fd == ENOMEM { pauseAccepting(l) }
                return  // EAGAIN: nothing more waiting
            }
            if counts.connections >= limits.maxConnections && !evictIdleForTable() {
                reject(fd, answer: answersBusy(l))
                continue
            }
            guard let s = takeSlot() else {
                _ = CMeerkat.close(fd)
                continue
            }
            transportAccepted(s, from: l)
            startAccepted(s, fd: fd, proto: slots[Int(l)].proto, handler: slots[Int(l)].handler)
        }
    }

    /// An accepted socket in slot `s` starts its life: `.open`, `.accept`, then the TLS
    /// handshake when its listener asked for one.
    func startAccepted(_ s: Int32, fd: Int32, proto: Slot.Proto, handler: Handler?) {
        counts.connections += 1
        slots[Int(s)].fd = fd
        slots[Int(s)].kind = .accepted
        slots[Int(s)].proto = proto
        slots[Int(s)].handler = handler
        setInterest(s, .read, adding: true)
        idleQueue.append(s, now: now)
        deliver(s, .open)
        deliver(s, .accept)
        transportStart(s)
    }

    /// Out of descriptors: the pending connection stays in the backlog and the level-
    /// triggered listener would wake us at once, forever. Stop listening for 100 ms.
    private func pauseAccepting(_ l: Int32) {
        setInterest(l, .read, adding: false)
        let listener = connection(l)
        timerAdd(100) {
            if let s = self.live(listener) { self.setInterest(s, .read, adding: true) }
        }
    }

    /// The table is full: answer 503 and close, invisible to handlers. A reserve slot
    /// waits for the peer's FIN so the answer is not lost to a reset; with the reserve
    /// used up, what the peer has sent so far is read and dropped before the close, so
    /// it is a FIN after the 503 all the same (bytes still on their way would reset it:
    /// best effort). A TLS listener's connection is closed at once (a 503 would need a
    /// session).
    func reject(_ fd: Int32, answer: Bool) {
        Log.debug(answer ? "connection table full: 503 sent, fd" : "connection table full: TLS connection closed, fd", Int64(fd))
        guard answer else {
            _ = CMeerkat.close(fd)
            return
        }
        let reply = Manager.busyAnswer
        _ = mk_send(fd, reply.utf8Start, reply.utf8CodeUnitCount)
        guard counts.rejecting < limits.rejectSlots, let s = takeSlot() else {
            var reads = 0
            while reads < 4 && mk_read(fd, headScratch, limits.sendBufferSize) > 0 { reads += 1 }
            _ = CMeerkat.close(fd)
            return
        }
        counts.rejecting += 1
        slots[Int(s)].fd = fd
        slots[Int(s)].kind = .rejecting
        setInterest(s, .read, adding: true)
        slots[Int(s)].flags.insert(.draining)
        finishDrain(s)
    }

    // MARK: Read

    /// Reads at most this many times per turn, so that a peer sending at full speed
    /// gets its share of the loop and no more: the rest waits for the next poll
    /// (level-triggered, so the socket is reported again), after everyone else's turn.
    static let readsPerTurn = 4

    /// Reads until the socket is empty, the receive block is full or the turn is over,
    /// handing each read to the protocol. (Mongoose reads once per poll, tying
    /// throughput to buffer size.) A TLS connection finishes its handshake first, and
    /// reads until mbedTLS has nothing left: its buffered records (one at most) do not
    /// show on the socket.
    func readAll(_ s: Int32) {
        var reads = 0
        while slots[Int(s)].kind != .free && !slots[Int(s)].flags.contains(.closing) {
            if slots[Int(s)].flags.contains(.lingering) || slots[Int(s)].kind == .rejecting {
                discardInput(s)
                return
            }
            if !transportReady(s) || !transportCanRead(s) { return }
            guard let buf = recvSpace(s) else { return }
            guard buf.count > 0 else {
                // Full and waiting on the handler (a reply not yet sent): stop reading
                // until it consumes, rather than spin on a readable socket.
                slots[Int(s)].flags.insert(.recvFull)
                setInterest(s, .read, adding: false)
                return
            }
            let n = transportRead(s, buf.baseAddress, buf.count)
            if n > 0 {
                hexdumpRead(s, buf.baseAddress, n)
                slots[Int(s)].recvEnd += Int32(n)
                let (held, over) = slots[Int(s)].recvHeldBytes.addingReportingOverflow(UInt32(truncatingIfNeeded: n))
                slots[Int(s)].recvHeldBytes = over ? UInt32.max : held
                slots[Int(s)].flags.insert(.heard)
                slots[Int(s)].flags.remove(.pinged)  // the peer is there
                idleQueue.append(s, now: now)
                deliver(s, .read(Int(n)))
                processInput(s)
                releaseEmptyBuffers(s)
                // Likely drained (level-triggered epoll says if not), unless mbedTLS holds more.
                reads += 1
                if (n < buf.count || reads >= Manager.readsPerTurn) && !transportHasBuffered(s) { return }
            } else if n == 0 && slots[Int(s)].kind == .datagram {
                continue  // an empty datagram, not an end of stream
            } else if n == 0 || (-n != Int(EAGAIN) && -n != Int(EINTR)) {
                // A UDP peer has no stream to end: a failed read is an ICMP error (a
                // port nobody listens on), which the handler is told of.
                if n < 0 && slots[Int(s)].kind == .datagram {
                    deliverError(
                        s, -n == Int(ECONNREFUSED) ? "udp: the peer refused (ECONNREFUSED)" : "udp: receive failed",
                        errno: Int32(-n))
                }
                peerClosed(s)
                return
            } else {
                releaseEmptyBuffers(s)
                return
            }
        }
    }

    /// Reads and drops bytes on a connection that is only waiting to close. Bytes that
    /// come restart the linger timeout: an uploader told 503 (or 413) mid-body is still
    /// writing, and a close with its bytes unread would reset the connection, often
    /// before it reads the answer ("broken pipe"). `finishDrain` bounds the whole wait
    /// by the request timeout, as nginx's lingering close bounds its own.
    private func discardInput(_ s: Int32) {
        for _ in 0..<16 {
            let n = mk_read(slots[Int(s)].fd, headScratch, limits.sendBufferSize)
            if n == 0 || (n < 0 && -n != Int(EAGAIN) && -n != Int(EINTR)) {
                closeNow(s)
                return
            }
            if n < 0 { return }
            if headerQueue.contains(s) { lingerQueue.append(s, now: now) }
        }
    }

    /// The free tail of the slot's receive block, borrowing a block if it has none (or
    /// reclaiming one from a stalled holder). Nil when the pool is empty: reading
    /// pauses until a block comes back.
    private func recvSpace(_ s: Int32) -> UnsafeMutableRawBufferPointer? {
        if slots[Int(s)].recvBlock < 0 {
            if recvPool.freeCount == 0 { _ = reclaim(.receive, for: s) }
            guard let block = recvPool.acquire(for: s) else {
                pauseReading(s)
                return nil
            }
            slots[Int(s)].recvBlock = block
            slots[Int(s)].recvStart = 0
            slots[Int(s)].recvEnd = 0
            // One that waited for the block is measured from when it began to wait.
            if !slots[Int(s)].flags.contains(.waitedForBlock) { startHoldMeasure(s) }
            slots[Int(s)].flags.remove(.waitedForBlock)
        }
        compactRecv(s)
        let base = recvPool.pointer(slots[Int(s)].recvBlock)
        let end = Int(slots[Int(s)].recvEnd)
        return UnsafeMutableRawBufferPointer(start: base + end, count: recvPool.blockSize - end)
    }

    /// Moves unconsumed bytes to the front of the receive block.
    /// Not while a reply body is sent from this block (it would move under the send).
    func compactRecv(_ s: Int32) {
        guard slots[Int(s)].recvStart > 0, !slots[Int(s)].held.pinsReceiveBlock else { return }
        slots[Int(s)].recvEnd = Manager.compact(
            recvPool.pointer(slots[Int(s)].recvBlock),
            slots[Int(s)].recvStart, slots[Int(s)].recvEnd)
        slots[Int(s)].recvStart = 0
    }

    /// Moves the bytes in [start, end) of a block to its front; returns the new end.
    static func compact(_ base: UnsafeMutablePointer<UInt8>, _ start: Int32, _ end: Int32) -> Int32 {
        let count = Int(end - start)
        if count > 0 { memmove(base, base + Int(start), count) }
        return Int32(count)
    }

    /// No receive block for `s`: it waits for one. What its socket holds is looked at
    /// (not taken): a peer whose whole request (frame, record) is there goes ahead of
    /// those that have sent only part of one, so a crowd trickling halves cannot make a
    /// ready client queue behind it (`WaitQueue`). A peer with bytes waiting is not
    /// silent (`.heard`), whether or not they were read.
    private func pauseReading(_ s: Int32) {
        if !slots[Int(s)].flags.contains(.waitedForBlock) { startHoldMeasure(s) }
        slots[Int(s)].flags.insert([.readPaused, .waitedForBlock])
        setInterest(s, .read, adding: false)
        recvWaiters.append(s, ready: peekWholeUnit(s))
    }

    /// Starts reclaim's measure of `s`'s hold (`recvHeldSince`, `recvHeldBytes`): when
    /// it takes a receive block, or when it begins to wait for one. A peer's bytes keep
    /// coming while it waits; counted from the take, they paid for its hold: a crowd
    /// that kept trickling 400 B/s in the queue came to its blocks with seconds' worth,
    /// stayed above `Limits.reclaimMinRate` the whole hold, and each block came back
    /// only after a full grace (rpi3-armhf: 48 a second; a fresh client behind 190 of
    /// them waited 4 s). Measured from the wait, the rate is what the peer really sends.
    private func startHoldMeasure(_ s: Int32) {
        slots[Int(s)].recvHeldSince = UInt32(truncatingIfNeeded: now)
        slots[Int(s)].recvHeldBytes = 0
    }

    /// Whether `s`'s socket holds a whole unit for its protocol, looked at without
    /// taking it (a full window counts: it could not be more whole). Marks it `.heard`
    /// when it holds anything, `.unitWaiting` when whole.
    func peekWholeUnit(_ s: Int32) -> Bool {
        let window = min(limits.sendBufferSize, recvPool.blockSize)
        let n = mk_peek(slots[Int(s)].fd, headScratch, window)
        if n > 0 { slots[Int(s)].flags.insert(.heard) }
        let whole = n > 0 && (n == window || holdsWholeUnit(s, UnsafeRawBufferPointer(start: headScratch, count: n)))
        if whole { slots[Int(s)].flags.insert(.unitWaiting) }
        return whole
    }

    /// Gives back blocks that hold nothing (a pinned receive block waits for its held
    /// body), and lets a connection waiting for a block of that pool go on.
    func releaseEmptyBuffers(_ s: Int32) {
        if slots[Int(s)].recvBlock >= 0 && slots[Int(s)].recvCount == 0 && !slots[Int(s)].held.pinsReceiveBlock {
            recvPool.release(slots[Int(s)].recvBlock)
            slots[Int(s)].recvBlock = -1
            slots[Int(s)].recvStart = 0
            slots[Int(s)].recvEnd = 0
            resumeOneReader()
        }
        releaseSendBlockIfEmpty(s)
    }

    func releaseSendBlockIfEmpty(_ s: Int32) {
        guard slots[Int(s)].sendBlock >= 0 && slots[Int(s)].sendCount == 0 else { return }
        sendPool.release(slots[Int(s)].sendBlock)
        slots[Int(s)].sendBlock = -1
        slots[Int(s)].sendStart = 0
        slots[Int(s)].sendEnd = 0
        resumeOneSender()
    }

    /// Reading stopped on a full buffer; start again once input was consumed.
    func resumeReadingIfRoom(_ s: Int32) {
        let canCompact = slots[Int(s)].recvStart > 0 && !slots[Int(s)].held.pinsReceiveBlock
        guard slots[Int(s)].kind != .free, slots[Int(s)].flags.contains(.recvFull),
            slots[Int(s)].recvBlock < 0 || canCompact || slots[Int(s)].recvEnd < Int32(recvPool.blockSize)
        else { return }
        slots[Int(s)].flags.remove(.recvFull)
        setInterest(s, .read, adding: true)
        if transportHasBuffered(s) { resumeQueue.append(s, now: now) }
    }

    private func resumeOneReader() {
        lookAgainAtOnePartWaiter()
        let w = recvWaiters.first
        guard w >= 0 else { return }
        recvWaiters.remove(w)
        slots[Int(w)].flags.remove([.readPaused, .unitWaiting])
        setInterest(w, .read, adding: true)
        if transportHasBuffered(w) { resumeQueue.append(w, now: now) }
    }

    /// A waiter is not read, so one that had only part of a unit when it began to wait
    /// does not show when the rest comes: while ready peers are ahead of it, it would
    /// wait for as long as new ready ones come (a WebSocket whose message came in two
    /// writes, behind a crowd of whole heads that stall, waited out the whole attack).
    /// So each block that comes back first looks again at the oldest such waiter: whole
    /// now, it joins the ready group; else it goes to the back of its own, so the next
    /// look is at the next one. One peek per block, only while both groups wait.
    private func lookAgainAtOnePartWaiter() {
        let p = recvWaiters.firstPart
        guard p >= 0, p != recvWaiters.first else { return }
        recvWaiters.append(p, ready: peekWholeUnit(p))
    }

    /// The peer closed or the socket failed: finish what can be finished, then close.
    private func peerClosed(_ s: Int32) {
        servicePeerClosed(s)  // a client's response that runs until close ends here
        guard slots[Int(s)].kind != .free else { return }
        if hasOutput(s) && !slots[Int(s)].flags.contains(.lingering) {
            slots[Int(s)].flags.insert(.draining)
            setInterest(s, .read, adding: false)
            flush(s)
        } else {
            closeNow(s)
        }
    }

    // MARK: Close

    /// Everything is sent: shut our side and wait (briefly) for the peer's FIN, so the
    /// last reply is not lost to a reset.
    func finishDrain(_ s: Int32) {
        guard !slots[Int(s)].flags.contains(.lingering) else { return }
        transportCloseNotify(s)
        slots[Int(s)].flags.insert(.lingering)
        _ = shutdown(slots[Int(s)].fd, Int32(SHUT_WR))
        // A peer's connection: the request timeout bounds the whole linger (`discardInput`).
        if slots[Int(s)].kind.isOurs { headerQueue.remove(s) } else { headerQueue.append(s, now: now) }
        idleQueue.remove(s)
        lingerQueue.append(s, now: now)
        setInterest(s, .read, adding: true)
    }

    /// Close after the current dispatch (the handler may still hold the handle).
    func scheduleClose(_ s: Int32) {
        slots[Int(s)].flags.insert(.closing)
        closeQueue.append(s, now: now)
    }

    /// Closes at once: the handler gets `.close`, then the slot and its blocks are freed.
    func closeNow(_ s: Int32) {
        let kind = slots[Int(s)].kind
        guard kind != .free else { return }
        slots[Int(s)].flags.insert(.closing)
        if slots[Int(s)].flags.contains(.evicted) { deliverError(s, "buffers reclaimed: no progress under pressure") }
        if kind != .rejecting { deliver(s, .close) }
        idleQueue.remove(s)
        sendQueue.remove(s)
        sendWaiters.remove(s)
        headerQueue.remove(s)
        lingerQueue.remove(s)
        recvWaiters.remove(s)
        closeQueue.remove(s)
        resumeQueue.remove(s)
        servicesEnd(s)
        if slots[Int(s)].fd >= 0 {  // a client still resolving has no socket yet
            poller.remove(slots[Int(s)].fd)
            _ = CMeerkat.close(slots[Int(s)].fd)
        }
        slots[Int(s)].recvStart = slots[Int(s)].recvEnd
        slots[Int(s)].sendStart = slots[Int(s)].sendEnd
        servicesDropHeld(s)
        releaseEmptyBuffers(s)
        switch kind {
        case .listener: counts.listeners -= 1
        case .accepted, .client, .datagram, .watched: counts.connections -= 1
        case .rejecting: counts.rejecting -= 1
        case .free: break
        }
        giveBack(s)
    }

    // MARK: Interest

    func setInterest(_ s: Int32, _ bit: Poller.Interest, adding: Bool) {
        let old = slots[Int(s)].interest
        var new = old
        if adding { new.insert(bit) } else { new.remove(bit) }
        guard new != old || slots[Int(s)].kind == .free else { return }
        let first = !slots[Int(s)].flags.contains(.inPoller)
        slots[Int(s)].interest = new
        if first {
            slots[Int(s)].flags.insert(.inPoller)
            _ = poller.add(slots[Int(s)].fd, token: UInt64(s), new)
        } else {
            poller.modify(slots[Int(s)].fd, token: UInt64(s), new)
        }
    }
}
