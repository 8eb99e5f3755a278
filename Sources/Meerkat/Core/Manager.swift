import CMeerkat

/// The event loop: one thread, one epoll set, a fixed connection table, timers and a
/// wakeup eventfd (the docs' `Manager`). Everything is allocated in `init` from `Limits`;
/// serving traffic afterwards allocates nothing in the library.
public final class Manager {
    public let limits: Limits
    let defaultHandler: Handler?
    let slots: UnsafeMutablePointer<Slot>
    let tableSize: Int
    private var freeSlots: FreeIndices
    var recvPool: BufferPool
    var sendPool: BufferPool
    var poller: Poller
    /// Connections by last activity (idle timeout), by first byte of an unfinished head
    /// (header timeout), by time their write side was shut (linger timeout).
    var idleQueue: SlotQueue
    var headerQueue: SlotQueue
    var lingerQueue: SlotQueue
    /// Connections with output waiting, by when the peer last took some (reclaim).
    var sendQueue: SlotQueue
    /// Connections waiting for a receive block, for a send block before their next
    /// request is delivered, and those to close after the dispatch.
    var recvWaiters: WaitQueue
    var sendWaiters: SlotQueue
    var closeQueue: SlotQueue
    /// Connections whose pipelined input can go on now that a late reply was sent.
    var resumeQueue: SlotQueue
    var timers: TimerHeap
    let wakeupQueue: WakeupQueue
    /// Reply head scratch.
    let headScratch: UnsafeMutablePointer<UInt8>
    /// What the protocols and services keep (Services.swift).
    var services: Services
    var counts = (listeners: 0, connections: 0, rejecting: 0)
    /// Connections closed by reclaim (Reclaim.swift), for `stats`.
    var evictions = 0
    var nextGen: UInt32 = 1
    /// The errno behind the `.error` being delivered, and to which slot
    /// (`Connection.lastErrno`); -1 when no `.error` with one is being delivered.
    var errorSlot: Int32 = -1
    var errorErrno: Int32 = 0
    var errorCode: Int32 = 0
    /// The loop's time (ms), read once at each wake-up: what timers, timeouts and stamps
    /// compare against.
    var now: Int64
    /// A test's clock (`TestChannel.advance`): when set, the loop reads its time here,
    /// not from the monotonic clock, so timers and timeouts move only when the test moves
    /// it. Looked at twice per poll, never per request.
    var testClockMs: Int64? = nil
    private var stopped = false
    private var closed = false

    static let wakeupToken = UInt64.max

    /// - Parameters:
    ///   - limits: sizes and timeouts (raised to working minimums, see
    ///     `Limits.sanitized`); everything is allocated from them here, once.
    ///   - poller: `.epoll` (default) or the `.poll` fallback.
    ///   - handler: the default handler for connections whose listener has none.
    public init(limits requested: Limits = Limits(), poller: PollerBackend = .epoll, handler: Handler? = nil) {
        let limits = requested.sanitized
        self.limits = limits
        defaultHandler = handler
        tableSize = limits.tableSize
        slots = .allocate(capacity: tableSize)
        slots.initialize(repeating: Slot(), count: tableSize)
        freeSlots = FreeIndices(capacity: tableSize)
        recvPool = BufferPool(blockSize: limits.recvBufferSize, blockCount: limits.recvBuffers)
        sendPool = BufferPool(blockSize: limits.sendBufferSize, blockCount: limits.sendBuffers)
        self.poller = Poller(
            backend: poller, capacity: tableSize + 2,
            maxEvents: limits.eventsPerPoll)
        idleQueue = SlotQueue(capacity: tableSize)
        headerQueue = SlotQueue(capacity: tableSize)
        lingerQueue = SlotQueue(capacity: tableSize)
        sendQueue = SlotQueue(capacity: tableSize)
        recvWaiters = WaitQueue(capacity: tableSize)
        sendWaiters = SlotQueue(capacity: tableSize, stamped: false)
        closeQueue = SlotQueue(capacity: tableSize, stamped: false)
        resumeQueue = SlotQueue(capacity: tableSize, stamped: false)
        timers = TimerHeap(capacity: limits.timers)
        wakeupQueue = WakeupQueue(capacity: limits.wakeupQueueBytes)
        headScratch = .allocate(capacity: limits.sendBufferSize)
        services = Services(limits: limits)
        now = mk_now_ms()
        mk_ignore_sigpipe()
        _ = self.poller.add(wakeupQueue.fd, token: Manager.wakeupToken, .read)
    }

    /// Table memory per connection: the slot and its links in every queue.
    var bytesPerSlot: Int {
        MemoryLayout<Slot>.stride + idleQueue.bytesPerSlot + headerQueue.bytesPerSlot + lingerQueue.bytesPerSlot
            + sendQueue.bytesPerSlot + recvWaiters.bytesPerSlot + sendWaiters.bytesPerSlot
            + closeQueue.bytesPerSlot + resumeQueue.bytesPerSlot
    }

    deinit {
        close()
        for i in 0..<tableSize { (slots + i).deinitialize(count: 1) }
        slots.deallocate()
        freeSlots.deallocate()
        recvPool.deallocate()
        sendPool.deallocate()
        idleQueue.deallocate()
        headerQueue.deallocate()
        lingerQueue.deallocate()
        sendQueue.deallocate()
        recvWaiters.deallocate()
        sendWaiters.deallocate()
        closeQueue.deallocate()
        resumeQueue.deallocate()
        headScratch.deallocate()
        services.deallocate()
        wakeupQueue.deallocate()
        poller.close()
    }

    // MARK: The loop

    /// Waits up to `ms` milliseconds (less when a timer or timeout is due sooner; -1
    /// waits without limit), then handles what is ready, due timers and timeouts.
    public func poll(_ ms: Int = 0) {
        guard !closed else { return }
        now = clockMs()
        let timeout = waitTime(limit: ms)
        let ready = poller.wait(timeoutMs: Int32(timeout))
        now = clockMs()
        for i in 0..<ready {
            let r = poller.ready(i)
            if r.token == Manager.wakeupToken {
                deliverWakeups()
            } else if r.token >= UInt64(tableSize) {
                serviceReady(r.token)
            } else {
                handleReady(Int32(truncatingIfNeeded: r.token), r)
            }
            closePending()
        }
        runTimers()
        expireDeadlines()
        reclaimForWaiters()
        resumePending()
        closePending()
    }

    /// Polls until `stop()` is called or the process gets SIGINT or SIGTERM. On a signal,
    /// WebSocket clients are told the server is going away (close 1001) first, and what
    /// is queued gets up to a second to go out.
    public func run() {
        mk_install_signal_handlers()
        stopped = false
        while !stopped && mk_stop_requested() == 0 && !closed {
            poll(1000)
        }
        if mk_stop_requested() != 0 { goAway(waitMs: 1000) }
        mk_clear_stop_request()
    }

    /// Tells every connection's protocol the server is going away (WebSockets get close
    /// 1001) and polls until every connection's output is out (or `waitMs` passes).
    public func goAway(waitMs: Int) {
        for i in 0..<tableSize where slots[i].kind.isConnection { servicesGoAway(Int32(i)) }
        let deadline = mk_now_ms() + Int64(waitMs)
        while sendQueue.first >= 0 && mk_now_ms() < deadline && !closed {
            poll(10)
        }
    }

    /// Makes `run()` return after the current poll.
    public func stop() { stopped = true }

    /// Closes every connection and listener (each gets `.close`). Idempotent; the
    /// manager does nothing afterwards.
    public func close() {
        guard !closed else { return }
        for i in 0..<tableSize where slots[i].kind != .free {
            closeNow(Int32(i))
        }
        servicesClose()
        timers.removeAll()
        closed = true
    }

    /// The time in ms the loop goes by: the monotonic clock, or a test's.
    func clockMs() -> Int64 {
        if let fixed = testClockMs { return fixed }
        return mk_now_ms()
    }

    private func waitTime(limit ms: Int) -> Int {
        let limit: Int64 = ms < 0 ? Int64.max : now + Int64(ms)
        let due = min(limit, nextDue())
        if due == Int64.max { return -1 }
        return Int(max(0, min(due - now, Int64(Int32.max))))
    }

    /// When the loop next has work that comes with time (a timer, a timeout, a
    /// keep-alive walk, a reclaim, a resend), `now` when some is pending already, or
    /// `Int64.max` when none.
    func nextDue() -> Int64 {
        var due = Int64.max
        if let t = nextTimerDue() { due = min(due, t) }
        due = min(due, deadline(headerQueue, limits.headerTimeoutMs))
        due = min(due, deadline(idleQueue, limits.idleTimeoutMs))
        due = min(due, deadline(lingerQueue, limits.lingerTimeoutMs))
        due = min(due, reclaimDue())
        due = min(due, servicesDue())
        if closeQueue.first >= 0 || resumeQueue.first >= 0 { due = now }
        return due
    }

    private func deadline(_ queue: SlotQueue, _ timeout: Int) -> Int64 {
        queue.first >= 0 ? queue.stamp(queue.first) + Int64(timeout) : Int64.max
    }

    private func expireDeadlines() {
        while let s = headerQueue.expired(now: now, timeout: Int64(limits.headerTimeoutMs)) {
            if slots[Int(s)].kind.isOurs {
                deliverError(s, "no answer in time")
            } else {
                Log.conn(.debug, s, "header timeout: closed")
            }
            closeNow(s)
        }
        expireServices()  // first: keep-alive pings restamp idle connections
        while let s = idleQueue.expired(now: now, timeout: Int64(limits.idleTimeoutMs)) {
            // A watched descriptor or a connection we opened stays until the app closes
            // it (a device keeps its control WebSocket open; pings find a dead peer).
            if slots[Int(s)].kind != .accepted {
                idleQueue.remove(s)
            } else if !serviceKeepsIdle(s) {
                Log.conn(.debug, s, "idle timeout: closed")
                closeNow(s)
            }
        }
        while let s = lingerQueue.expired(now: now, timeout: Int64(limits.lingerTimeoutMs)) {
            Log.conn(.debug, s, "linger timeout: closed")
            closeNow(s)
        }
    }

    private func closePending() {
        while closeQueue.first >= 0 { closeNow(closeQueue.first) }
    }

    // MARK: Slots and handles

    func takeSlot() -> Int32? {
        guard let s = freeSlots.take() else { return nil }
        slots[Int(s)].gen = nextGen
        nextGen = nextGen == UInt32.max ? 1 : nextGen + 1
        return s
    }

    func giveBack(_ s: Int32) {
        let gen = slots[Int(s)].gen
        slots[Int(s)] = Slot()
        slots[Int(s)].gen = gen
        freeSlots.give(s)
    }

    func connection(_ s: Int32) -> Connection {
        Connection(manager: self, slot: s, gen: slots[Int(s)].gen)
    }

    /// The slot a handle names, if that connection is still there.
    func live(_ c: Connection) -> Int32? {
        let s = Int(c.slot)
        guard s >= 0 && s < tableSize, slots[s].gen == c.gen, slots[s].kind != .free else { return nil }
        return c.slot
    }

    /// Calls the slot's handler (or the manager's) with `event`.
    func deliver(_ s: Int32, _ event: Event) {
        // No `??` here: its autoclosure cost a heap context per event in Embedded Swift.
        if let handler = slots[Int(s)].handler {
            handler(connection(s), event)
        } else if let handler = defaultHandler {
            handler(connection(s), event)
        }
    }

    /// `.error(text)` with the errno that caused it and the protocol's own code, which
    /// the handler reads as `conn.lastErrno` and `conn.lastErrorCode` (the event keeps
    /// its one payload, so `case .error(let text)` still matches); logged at debug
    /// first: every failure a handler hears (TLS, connect, DNS, evictions, timeouts).
    /// Here, not in `deliver`: the hot path pays nothing.
    @inline(never)
    func deliverError(_ s: Int32, _ text: StaticString, errno: Int32 = 0, code: Int32 = 0) {
        Log.conn(.debug, s, text)
        let outer = (errorSlot, errorErrno, errorCode)  // a handler may fail another
        (errorSlot, errorErrno, errorCode) = (s, errno, code)
        deliver(s, .error(text))
        (errorSlot, errorErrno, errorCode) = outer
    }
}

/// Which readiness mechanism a `Manager` uses: epoll, or the poll(2) fallback (chosen
/// by itself when epoll is missing).
public enum PollerBackend { case epoll, poll }
