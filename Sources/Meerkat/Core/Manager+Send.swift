import CMeerkat

/// The send side of the loop. Bytes go straight to the socket when nothing is waiting;
/// what the socket leaves is copied into the slot's send block, except a body the
/// library can keep alive (`HeldBody`), which is sent later from where it lives. Output
/// that waits is tracked in `sendQueue`, oldest stall first, for reclaim (Reclaim.swift).
extension Manager {
    private static let noBytes = UnsafeRawBufferPointer(start: nil, count: 0)

    /// Bytes of this connection's output still to go: the send block's and a held body's.
    func hasOutput(_ s: Int32) -> Bool {
        slots[Int(s)].sendCount > 0 || slots[Int(s)].held.isPending
    }

    /// Queues a payload as it is, unframed (`conn.send`).
    func sendRaw(_ s: Int32, _ p: Payload) throws(ConnectionError) {
        try enqueue(s, Manager.noBytes, p.bytes, owner: p.owner)
    }

    /// Queues `head`, `body`, `tail`, all or nothing. A `body` whose `owner` keeps it
    /// alive may be larger than a send block: it is held, not copied (one at a time).
    /// Throws `.sendBufferFull` when the bytes cannot be taken now (nothing was sent)
    /// and `.closed` when the socket failed.
    func enqueue(
        _ s: Int32, _ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer,
        owner: HeldBody.Owner = .borrowed, tail: UnsafeRawBufferPointer = noBytes
    ) throws(ConnectionError) {
        let total = head.count + body.count + tail.count
        if slots[Int(s)].kind == .datagram { return try sendDatagram(s, head, body) }
        guard total > 0 else { return }
        if slots[Int(s)].flags.contains(.batching), try batchAppend(s, head, body, tail) { return }
        let hadOutput = hasOutput(s)
        let room = sendPool.blockSize - slots[Int(s)].sendCount
        var hold = false
        if total > room {
            guard owner.canBeHeld, !slots[Int(s)].held.isPending, head.count + tail.count <= room else {
                throw .sendBufferFull
            }
            hold = true
        }
        if slots[Int(s)].sendBlock < 0 && sendPool.freeCount == 0 {
            _ = reclaim(.send, for: s)  // only a holder stalled past the grace period
        }
        var written = 0
        if !hadOutput && !hold, let scratch = transportGatherScratch(s) {
            // The transport frames what it writes (TLS records): the pieces go out as
            // one unit, not one each.
            let at = Manager.append(body, to: scratch, at: Manager.append(head, to: scratch, at: 0))
            _ = Manager.append(tail, to: scratch, at: at)
            written = try writeNow(s, UnsafeRawBufferPointer(start: scratch, count: total), Manager.noBytes)
            if written == total {
                idleQueue.append(s, now: now)
                transportSettled(s)
                return
            }
        } else if !hadOutput {
            written = try writeNow(s, head, body)
            if written == head.count + body.count && tail.count > 0 {
                written += try writeNow(s, tail, Manager.noBytes)
            }
            if written == total {
                idleQueue.append(s, now: now)
                transportSettled(s)
                return
            }
        }
        // Something must wait; a block for it must be had before anything is written,
        // or, when the socket already took the first bytes, taken back from the holder
        // that has made the least progress.
        let needsBlock = !hold || written < head.count || tail.count > 0
        // A record the transport built but did not all send has taken its bytes like a
        // partial write.
        let committed = written > 0 || transportWritePending(s)
        if needsBlock && slots[Int(s)].sendBlock < 0 {
            guard let block = takeSendBlock(s, force: committed) else {
                if committed {
                    scheduleClose(s)  // cannot happen while the pool's holders are in sendQueue
                    throw .closed
                }
                throw .sendBufferFull
            }
            slots[Int(s)].sendBlock = block
            slots[Int(s)].sendStart = 0
            slots[Int(s)].sendEnd = 0
        }
        if needsBlock { compactSend(s) }
        var skip = copyIntoSend(s, head, skipping: written)
        if hold {
            let bodySent = max(0, written - head.count)
            slots[Int(s)].held = HeldBody(
                base: body.baseAddress! + bodySent, count: body.count - bodySent,
                before: Int32(slots[Int(s)].sendCount), owner: owner)
            skip = max(0, written - head.count - body.count)
        } else {
            skip = copyIntoSend(s, body, skipping: skip)
        }
        _ = copyIntoSend(s, tail, skipping: skip)
        if !hadOutput {
            sendQueue.append(s, now: now)
            setInterest(s, .write, adding: true)
        }
    }

    /// A UDP client's send: one datagram now, or `.sendBufferFull` when the socket cannot
    /// take it (nothing waits in a buffer). A datagram larger than the socket allows, or
    /// one the peer refused earlier (ICMP), fails the connection.
    private func sendDatagram(_ s: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) throws(ConnectionError) {
        let n = mk_send2(slots[Int(s)].fd, a.baseAddress, a.count, b.baseAddress, b.count)
        hexdumpWritten(s, a, b, n)
        if n >= 0 {
            idleQueue.append(s, now: now)
            return
        }
        if -n == Int(EAGAIN) || -n == Int(ENOBUFS) { throw .sendBufferFull }
        scheduleClose(s)
        throw .closed
    }

    /// Writes what the socket takes now; a failed socket closes the connection.
    private func writeNow(_ s: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) throws(ConnectionError) -> Int {
        let n = transportWrite(s, a, b)
        if n < 0 && -n != Int(EAGAIN) && -n != Int(EINTR) {
            scheduleClose(s)
            throw .closed
        }
        return max(0, n)
    }

    /// Copies `part` to `base + at`; returns the offset after it.
    private static func append(_ part: UnsafeRawBufferPointer, to base: UnsafeMutablePointer<UInt8>, at: Int) -> Int {
        if part.count > 0 { memcpy(base + at, part.baseAddress!, part.count) }
        return at + part.count
    }

    /// Appends `part` minus its first `skipping` bytes; returns what is left to skip.
    func copyIntoSend(_ s: Int32, _ part: UnsafeRawBufferPointer, skipping: Int) -> Int {
        guard skipping < part.count else { return skipping - part.count }
        let n = part.count - skipping
        memcpy(sendPool.pointer(slots[Int(s)].sendBlock) + Int(slots[Int(s)].sendEnd), part.baseAddress! + skipping, n)
        slots[Int(s)].sendEnd += Int32(n)
        return 0
    }

    func compactSend(_ s: Int32) {
        guard slots[Int(s)].sendStart > 0 else { return }
        slots[Int(s)].sendEnd = Manager.compact(
            sendPool.pointer(slots[Int(s)].sendBlock),
            slots[Int(s)].sendStart, slots[Int(s)].sendEnd)
        slots[Int(s)].sendStart = 0
    }

    /// Writes what waits, in order: the block's bytes before a held body, the body,
    /// the rest of the block. When all is gone: gives the blocks back, finishes a drain,
    /// and lets the protocol go on.
    func flush(_ s: Int32) {
        guard transportReady(s) else { return }  // writable during a handshake: it goes on
        var sent = 0
        while true {
            let held = slots[Int(s)].held
            let fromBlock = held.isPending ? Int(held.before) : slots[Int(s)].sendCount
            let n: Int
            if fromBlock > 0 {
                let base = sendPool.pointer(slots[Int(s)].sendBlock) + Int(slots[Int(s)].sendStart)
                n = transportWrite(s, base, fromBlock)
                if n > 0 {
                    slots[Int(s)].sendStart += Int32(n)
                    if held.isPending { slots[Int(s)].held.before -= Int32(n) }
                }
            } else if case let .file(e) = held.owner {
                n = sendHeldFile(s, e)
            } else if held.isPending {
                n = transportWrite(s, held.base, held.count)
                if n > 0 {
                    slots[Int(s)].held.base = held.base! + n
                    slots[Int(s)].held.count -= n
                    if slots[Int(s)].held.count == 0 { slots[Int(s)].held = HeldBody() }
                }
            } else {
                break
            }
            if n > 0 {
                sent += n
            } else if -n == Int(EAGAIN) || -n == Int(EINTR) {
                break
            } else {
                closeNow(s)
                return
            }
        }
        if sent > 0 {
            idleQueue.append(s, now: now)
            if hasOutput(s) { sendQueue.append(s, now: now) }  // progress: the stall starts again
            if slots[Int(s)].kind.isConnection { deliver(s, .write(sent)) }
        }
        guard slots[Int(s)].kind != .free, !hasOutput(s) else { return }
        sendQueue.remove(s)
        setInterest(s, .write, adding: false)
        releaseEmptyBuffers(s)
        resumeReadingIfRoom(s)
        if slots[Int(s)].flags.contains(.draining) {
            finishDrain(s)
        } else {
            outputDrained(s)
        }
    }
}

extension HeldBody.Owner {
    var canBeHeld: Bool {
        if case .borrowed = self { return false }
        return true
    }
}
