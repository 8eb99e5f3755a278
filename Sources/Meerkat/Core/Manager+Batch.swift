import CMeerkat

/// Sends gathered into few writes (`Connection.sendBatch`). Inside a batch, what the app
/// sends on the connection is copied into its send block instead of being written at
/// once; the block is written when it fills and when the batch ends. The same bytes go
/// out in the same order, and back-pressure throws as it would have; only the number
/// of system calls changes (a burst of small MQTT publishes or WebSocket messages is one
/// write instead of one each). No events are delivered from inside a batch: the app is
/// still in the middle of its own code.
extension Manager {
    /// Starts a batch on `s`; false when the sends should simply go out as usual:
    /// output already waits (it is copied anyway), a transport of its own (TLS) or UDP,
    /// a batch open.
    func beginBatch(_ s: Int32) -> Bool {
        guard slots[Int(s)].kind.isConnection, !hasOutput(s), transportIsPlain(s),
            !slots[Int(s)].flags.contains(.batching), slots[Int(s)].kind != .datagram
        else { return false }
        slots[Int(s)].flags.insert(.batching)
        return true
    }

    /// `enqueue` inside a batch: copies the bytes to the block, writing the block out
    /// first when they do not fit. False: they take the usual way (no free block, too
    /// large for a block, or the socket is full).
    func batchAppend(
        _ s: Int32, _ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer,
        _ tail: UnsafeRawBufferPointer
    ) throws(ConnectionError) -> Bool {
        let total = head.count + body.count + tail.count
        guard total <= sendPool.blockSize, !slots[Int(s)].held.isPending else { return false }
        if slots[Int(s)].sendBlock < 0 {
            guard let block = sendPool.acquire(for: s) else { return false }  // a batch takes no block from others
            slots[Int(s)].sendBlock = block
            slots[Int(s)].sendStart = 0
            slots[Int(s)].sendEnd = 0
        }
        if sendPool.blockSize - slots[Int(s)].sendCount < total {
            try writeGathered(s)
            guard sendPool.blockSize - slots[Int(s)].sendCount >= total else { return false }
        }
        compactSend(s)
        _ = copyIntoSend(s, head, skipping: 0)
        _ = copyIntoSend(s, body, skipping: 0)
        _ = copyIntoSend(s, tail, skipping: 0)
        return true
    }

    /// Ends the batch: what it gathered is written now; what the socket does not take
    /// waits in the block like any other output.
    func endBatch(_ s: Int32) {
        slots[Int(s)].flags.remove(.batching)
        guard slots[Int(s)].kind.isConnection else { return }
        if !slots[Int(s)].held.isPending { try? writeGathered(s) }
        if hasOutput(s) {
            sendQueue.append(s, now: now)
            setInterest(s, .write, adding: true)
        } else {
            releaseSendBlockIfEmpty(s)
        }
    }

    /// Writes the block's bytes as far as the socket takes them (no events); a failed
    /// socket closes the connection.
    private func writeGathered(_ s: Int32) throws(ConnectionError) {
        let count = slots[Int(s)].sendCount
        guard count > 0 else { return }
        let n = mk_send(slots[Int(s)].fd, sendPool.pointer(slots[Int(s)].sendBlock) + Int(slots[Int(s)].sendStart), count)
        if n > 0 {
            hexdumpWritten(
                s, UnsafeRawBufferPointer(start: sendPool.pointer(slots[Int(s)].sendBlock) + Int(slots[Int(s)].sendStart), count: count),
                UnsafeRawBufferPointer(start: nil, count: 0), n)
            slots[Int(s)].sendStart += Int32(n)
            idleQueue.append(s, now: now)
        } else if n < 0 && -n != Int(EAGAIN) && -n != Int(EINTR) {
            scheduleClose(s)
            throw .closed
        }
    }
}

extension Connection {
    /// Gathers the sends `body` makes on this connection into as few writes as the send
    /// block allows (one for a burst that fits it: many small MQTT QoS 0 publishes,
    /// WebSocket messages, chunks), written when `body` returns. The bytes and their
    /// order are the same, and so are the errors (a send that does not fit throws
    /// `.sendBufferFull` as usual). With output already waiting, on TLS, or when no send
    /// block is free, the sends are written as usual. No events arrive during `body`.
    public func sendBatch<E: Error>(_ body: () throws(E) -> Void) throws(E) {
        guard let s = liveSlot, manager.beginBatch(s) else { return try body() }
        let gen = manager.slots[Int(s)].gen
        defer { if manager.slots[Int(s)].gen == gen { manager.endBatch(s) } }
        try body()
    }
}
