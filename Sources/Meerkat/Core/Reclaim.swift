/// Pressure-aware reclaim: the fixed pools must not be a lockout lever. When a pool is
/// empty and a connection needs a block, a holder gives its blocks back and is closed
/// with an `.error`, never `s` itself, and only one that has had its block for at least
/// `Limits.reclaimGraceMs`:
/// 1. first, output its peer does not read: no progress at all for that long (its stamp
///    in `sendQueue` is the last write that moved bytes);
/// 2. else, for the receive pool, the holder that has received least per second since
///    it took its block (its grace shrinks as more connections wait for one, if it
///    receives nothing, or less than `Limits.reclaimMinRate` a second: `holdGraceMs`). That is what a peer shows that trickles each
///    request in halves (it always holds a block, while no request of its own is ever
///    old), or stalls halfway; a busy client empties its block between requests, and a slow
///    upload still moves more bytes than such a peer. What is judged is the hold, not
///    the age of the current request: a request begun long ago by a peer that keeps
///    sending is progress.
/// Without pressure nothing is reclaimed: the full timeouts apply. The rules are in
/// docs/architecture.md.
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
        return sendPool.acquire(for: s)
    }

    private func freeBlocks(_ pool: PoolKind) -> Int {
        pool == .receive ? recvPool.freeCount : sendPool.freeCount
    }

    /// The holder of a `pool` block to evict for `s`, if one qualifies (rules above).
    private func victim(_ pool: PoolKind, for s: Int32, force: Bool) -> Int32? {
        if let v = stalledHolder(pool, for: s, force: force) { return v }
        return pool == .receive ? slowestReceiver(for: s) : nil
    }

    /// Rule 1: the output its peer has not read for longest, if for the grace period (for
    /// the receive pool, when it holds a receive block too). Output that waits on this
    /// side, not on its peer (a TLS connection waiting for a record-buffer pair), is
    /// passed over unless `force`: its peer reads, and the pair's holder is the one
    /// reclaimed (`reclaimTlsPair`, once a poll).
    private func stalledHolder(_ pool: PoolKind, for s: Int32, force: Bool) -> Int32? {
        var stalled = sendQueue.first
        while !force && stalled >= 0 && outputWaitsOnUs(stalled) { stalled = sendQueue.after(stalled) }
        guard stalled >= 0, stalled != s, pool == .send || slots[Int(stalled)].recvBlock >= 0 else { return nil }
        guard force || now - sendQueue.stamp(stalled) >= Int64(limits.reclaimGraceMs) else { return nil }
        return stalled
    }

    /// Rule 2: of the receive blocks' holders, the one that has received fewest bytes
    /// per second since it took its block, once it has had it for the full grace.
    /// Until then nobody is taken on rate alone: were the choice only among those past
    /// the grace, a crowd of peers reconnecting as fast as they are evicted would keep
    /// every other holder young, and whoever reached the grace first, however busy,
    /// would go. Failing that, the slowest of the stalled: holders that have received
    /// nothing for the grace shared among those who wait (`holdGraceMs`), and had their
    /// block as long, or received less than `Limits.reclaimMinRate` bytes a second since
    /// it took it (a whole head and then a body byte every 50-100 ms is never quiet for
    /// a shared grace, yet holds its block for good: 0 fresh GETs of 20 answered on
    /// rpi3-armhf). A holder still sending faster keeps the full grace however many wait:
    /// with the shared grace for all, honest slow POSTs four times the blocks evicted
    /// each other mid-body (rpi3-armhf: 144 of 192 served); and a stalled one goes even
    /// while a holder that has just sent a byte is slower (whole heads trickling a
    /// byte every 0.3-0.5 s: 4 fresh GETs of 20 answered, not 16, when only the slowest
    /// was looked at). Its last read, or write that moved bytes, is its `idleQueue`
    /// stamp. Looks at each block once (the pool is small); runs only under pressure.
    private func slowestReceiver(for s: Int32) -> Int32? {
        let grace = holdGraceMs
        let floor = UInt64(holdFloor)
        var slowest: Int32 = -1
        var lowest = UInt64.max
        var stalled: Int32 = -1
        var lowestStalled = UInt64.max
        for b in 0..<Int32(recvPool.blockCount) {
            let o = recvPool.owner(b)
            guard o >= 0, o != s, isHoldingForItsPeer(o) else { continue }
            let rate = UInt64(slots[Int(o)].recvHeldBytes) * 1000 / UInt64(max(heldMs(o), 1))  // < 2^42
            if rate < lowest {
                slowest = o
                lowest = rate
            }
            if rate < lowestStalled && heldMs(o) >= grace && (rate < floor || now - idleQueue.stamp(o) >= grace) {
                stalled = o
                lowestStalled = rate
            }
        }
        if slowest >= 0 && heldMs(slowest) >= Int64(limits.reclaimGraceMs) { return slowest }
        return stalled >= 0 ? stalled : nil
    }

    /// The grace a receive block's holder has, shared among everyone who wants a block:
    /// the full `reclaimGraceMs` while few wait, down to a blocks-to-claimants share of
    /// it when many do. A crowd of whole requests waiting behind stalled holders (heads
    /// whose body never comes, a request and then half the next) would otherwise move
    /// one pool's worth per grace, and a fresh client at its end wait out
    /// waiters / blocks graces. With the share, it waits about one grace, however many
    /// are ahead of it: 1,000 waiters for 128 blocks give each holder 113 ms. Only
    /// for a holder that has received nothing for as long (`slowestReceiver`).
    private var holdGraceMs: Int64 {
        Manager.sharedGraceMs(Int64(limits.reclaimGraceMs), blocks: recvPool.blockCount, waiting: Int(recvWaiters.count))
    }

    /// The grace `graceMs` shared among those who want one of `blocks`: the whole of it
    /// while few wait, graceMs x blocks / (blocks + waiting) when many do, never under
    /// `floorMs`. A holder that stalls then holds the wait of the one behind it to about
    /// one grace, however long the queue (`holdGraceMs`, and the record-buffer pairs:
    /// `tlsPairGraceMs`). Pure, for the tests.
    static func sharedGraceMs(_ graceMs: Int64, blocks: Int, waiting: Int, floorMs: Int64 = 0) -> Int64 {
        let b = Int64(max(blocks, 1))
        return max(graceMs * b / (b + Int64(max(waiting, 0))), min(floorMs, graceMs))
    }

    /// The byte rate below which a holder counts as stalled: `Limits.reclaimMinRate`
    /// times (blocks + waiters) / blocks, claimants per block. Each holder
    /// then has to do more with its block the more others want one. At the bare floor,
    /// 240 peers each sending a body at 600 B/s (144 KB/s in all) held rpi3-armhf's 48
    /// blocks for a full grace each, and a fresh client waited 4 s behind 190 of them;
    /// with it, they must send 2.5 KB/s each (600 KB/s), while an honest slow upload of
    /// 4 KB/s keeps its block when four times the blocks want one.
    private var holdFloor: Int64 {
        Int64(Manager.sharedRate(limits.reclaimMinRate, blocks: recvPool.blockCount, waiting: Int(recvWaiters.count)))
    }

    /// `rate` times claimants per block: (blocks + waiting) / blocks. Pure, for the tests.
    static func sharedRate(_ rate: Int, blocks: Int, waiting: Int) -> UInt64 {
        let b = UInt64(max(blocks, 1))
        return UInt64(max(rate, 0)) * (b + UInt64(max(waiting, 0))) / b
    }

    /// A connection a peer opened to us and that is still served: what reclaim may take
    /// from (the app's own clients and watched descriptors are the app's to close).
    func isServedPeer(_ o: Int32) -> Bool {
        let f = slots[Int(o)].flags
        return slots[Int(o)].kind == .accepted && f.isDisjoint(with: [.closing, .evicted])
    }

    /// A served peer whose receive block waits on its peer, not on us. One waiting for a
    /// send block (`sendWaiters`) holds a whole request that cannot be answered yet: it
    /// receives nothing meanwhile, so its rate falls like a stalled peer's, and a fresh
    /// client queued for a send block behind readers that keep reading was closed with
    /// no answer under receive pressure (about 1 in 45 fresh GETs on the host).
    private func isHoldingForItsPeer(_ o: Int32) -> Bool {
        isServedPeer(o) && !sendWaiters.contains(o)
    }

    /// How long after taking its block `o`'s rate falls below `Limits.reclaimMinRate`
    /// if it receives nothing more (nil with no floor).
    private func slowAfterMs(_ o: Int32) -> Int64? {
        guard limits.reclaimMinRate > 0 else { return nil }
        return Int64(slots[Int(o)].recvHeldBytes) * 1000 / holdFloor + 1
    }

    /// How long `o` has had its receive block, in ms.
    private func heldMs(_ o: Int32) -> Int64 {
        Int64(UInt32(truncatingIfNeeded: now) &- slots[Int(o)].recvHeldSince)
    }

    /// Takes every block `v` holds and closes it after this dispatch (its handler gets
    /// `.error`, then `.close`; no handler runs from inside another's call).
    func evict(_ v: Int32) {
        evictions += 1
        Log.conn(.debug, v, "evicted: its blocks are reclaimed under pressure")
        slots[Int(v)].flags.insert(.evicted)
        slots[Int(v)].recvStart = slots[Int(v)].recvEnd
        slots[Int(v)].sendStart = slots[Int(v)].sendEnd
        servicesDropHeld(v)
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
        var due = eligibleAt(sendQueue)
        if recvWaiters.first >= 0 { due = min(due, firstHoldEligible()) }
        return due
    }

    /// When the next receive block's holder reaches the grace period (rule 2).
    private func firstHoldEligible() -> Int64 {
        var due = Int64.max
        let grace = holdGraceMs
        for b in 0..<Int32(recvPool.blockCount) {
            let o = recvPool.owner(b)
            guard o >= 0, isHoldingForItsPeer(o) else { continue }
            let took = now - heldMs(o)
            var at = min(took + Int64(limits.reclaimGraceMs), max(took, idleQueue.stamp(o)) + grace)
            if let slow = slowAfterMs(o) { at = min(at, took + max(grace, slow)) }
            if at > now { due = min(due, at) }
        }
        return due
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
        if slots[Int(w)].kind.isConnection { resumeQueue.append(w, now: now) }
    }
}
