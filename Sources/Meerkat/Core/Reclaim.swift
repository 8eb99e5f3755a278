/// Pressure-aware reclaim: the fixed pools must not be a lockout lever. When a pool is
/// empty and a connection needs a block, the holder that has made the least progress
/// gives its blocks back, if it has made none for `Limits.reclaimGraceMs`, and is
/// closed with an `.error`. Progress means, for an unfinished request (head, or a body
/// not streamed), finishing it: its stamp in `headerQueue` is its first byte; for
/// waiting output, the peer reading some: its stamp in `sendQueue` is the last write
/// that moved bytes. Without pressure nothing is reclaimed: the full timeouts apply.
/// The rules are in docs/architecture.md.
extension Manager {
    enum PoolKind { case receive, send }

    /// Frees blocks of `pool` by evicting stalled holders (never `s` itself) until one
    /// is free. `force` drops the grace period: for output the socket already took in
    /// part, whose rest has to go somewhere. True when the pool has a free block.
    @discardableResult
    func reclaim(_ pool: PoolKind, for s: Int32, force: Bool = false) -> Bool {
        while freeBlocks(pool) == 0 {
            guard let v = victim(pool, for: s, force: force) else { return false }
            evict(v)
        }
        return true
    }

    /// A send block for `s`, from the pool or reclaimed.
    func takeSendBlock(_ s: Int32, force: Bool) -> Int32? {
        guard reclaim(.send, for: s, force: force) else { return nil }
        return sendPool.acquire()
    }

    private func freeBlocks(_ pool: PoolKind) -> Int {
        pool == .receive ? recvPool.freeCount : sendPool.freeCount
    }

    /// The least-progress holder of a `pool` block, if it has stalled long enough.
    private func victim(_ pool: PoolKind, for s: Int32, force: Bool) -> Int32? {
        let grace = Int64(limits.reclaimGraceMs)
        let stalled = sendQueue.first
        var candidate: Int32 = -1
        if pool == .receive {
            let unfinished = headerQueue.first
            candidate = unfinished
            if stalled >= 0 && slots[Int(stalled)].recvBlock >= 0
                && (unfinished < 0 || sendQueue.stamp(stalled) < headerQueue.stamp(unfinished)) {
                candidate = stalled
            }
        } else {
            candidate = stalled
        }
        guard candidate >= 0, candidate != s else { return nil }
        let since = candidate == stalled ? sendQueue.stamp(candidate) : headerQueue.stamp(candidate)
        guard force || now - since >= grace else { return nil }
        return candidate
    }

    /// Takes every block `v` holds and closes it after this dispatch (its handler gets
    /// `.error`, then `.close`; no handler runs from inside another's call).
    private func evict(_ v: Int32) {
        evictions += 1
        slots[Int(v)].flags.insert(.evicted)
        slots[Int(v)].recvStart = slots[Int(v)].recvEnd
        slots[Int(v)].sendStart = slots[Int(v)].sendEnd
        dropHeld(v)
        headerQueue.remove(v)
        sendQueue.remove(v)
        setInterest(v, .read, adding: false)
        setInterest(v, .write, adding: false)
        scheduleClose(v)
        releaseEmptyBuffers(v)
    }

    /// Once per poll: blocks for the connections that wait for one, from holders that
    /// have stalled past the grace period since the last look.
    func reclaimForWaiters() {
        if recvWaiters.first >= 0 { reclaim(.receive, for: -1) }
        if sendWaiters.first >= 0 { reclaim(.send, for: -1) }
        // A waiter let go may answer without taking the block; the others try too.
        if sendPool.freeCount > 0 {
            while sendWaiters.first >= 0 { resumeOneSender() }
        }
    }

    /// When the next holder becomes reclaimable, if anyone waits for a block (bounds
    /// the poll timeout; Int64.max when nothing is due later than now).
    func reclaimDue() -> Int64 {
        guard recvWaiters.first >= 0 || sendWaiters.first >= 0 else { return Int64.max }
        return min(eligibleAt(headerQueue), eligibleAt(sendQueue))
    }

    /// When the queue's oldest holder becomes reclaimable, if that is still to come
    /// (one already due was looked at by reclaimForWaiters).
    private func eligibleAt(_ queue: SlotQueue) -> Int64 {
        guard queue.first >= 0 else { return Int64.max }
        let at = queue.stamp(queue.first) + Int64(limits.reclaimGraceMs)
        return at > now ? at : Int64.max
    }

    /// A send block came back: the first connection waiting for one goes on.
    func resumeOneSender() {
        let w = sendWaiters.first
        guard w >= 0 else { return }
        sendWaiters.remove(w)
        if slots[Int(w)].kind == .connection { resumeQueue.append(w, now: now) }
    }
}
