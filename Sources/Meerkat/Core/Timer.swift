import CMeerkat

/// A timer made by `Manager.timerAdd`. The manager keeps it alive until it has fired
/// (one-shot) or is cancelled, so dropping the handle is harmless (pymongoose crashed).
public final class Timer {
    let intervalMs: Int64
    let repeats: Bool
    var dueMs: Int64
    /// When it was (re)scheduled, among the manager's timers: ties in `dueMs` fire in
    /// this order (`TimerHeap`).
    var order: UInt64 = 0
    private var callback: (() -> Void)?

    init(intervalMs: Int64, repeats: Bool, dueMs: Int64, callback: @escaping () -> Void) {
        self.intervalMs = intervalMs
        self.repeats = repeats
        self.dueMs = dueMs
        self.callback = callback
    }

    /// True once cancelled or, for a one-shot timer, once fired.
    public var isDone: Bool { callback == nil }

    /// Stops the timer; it will not fire again. Safe to call more than once, and from
    /// inside its own callback.
    public func cancel() { callback = nil }

    /// Runs the callback (the heap knows it is due); a repeating timer is rescheduled
    /// first.
    func fire(now: Int64) {
        guard let run = callback else { return }
        if repeats {
            dueMs += intervalMs
            if dueMs <= now { dueMs = now + intervalMs }  // fell behind: skip, do not burst
        } else {
            callback = nil
        }
        run()
    }
}

extension Manager {
    /// Calls `callback` after `ms` milliseconds, every `ms` if `repeat`, and once at the
    /// next poll as well if `runNow`. The next due timer bounds the poll timeout.
    @discardableResult
    public func timerAdd(
        _ ms: Int, repeat repeats: Bool = false, runNow: Bool = false,
        _ callback: @escaping () -> Void
    ) -> Timer {
        let start = clockMs()
        let timer = Timer(
            intervalMs: Int64(max(ms, 0)), repeats: repeats,
            dueMs: runNow ? start : start + Int64(max(ms, 0)), callback: callback)
        timers.insert(timer)
        return timer
    }

    func nextTimerDue() -> Int64? { timers.nextDue() }

    /// Fires each timer due now once; a repeating one goes back with its next due time.
    func runTimers() {
        let mark = timers.mark
        while let t = timers.popDue(now: now, mark: mark) {
            t.fire(now: now)
            if !t.isDone { timers.insert(t) }  // repeating, not cancelled by its callback
        }
    }
}
