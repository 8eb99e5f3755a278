import CMeerkat

/// A timer made by `Manager.timerAdd`. The manager keeps it alive until it has fired
/// (one-shot) or is cancelled, so dropping the handle is harmless (pymongoose crashed).
public final class Timer {
    let intervalMs: Int64
    let repeats: Bool
    var dueMs: Int64
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

    /// Runs the callback if due; a repeating timer is rescheduled first.
    func fireIfDue(now: Int64) {
        guard let run = callback, dueMs <= now else { return }
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
        timers.append(timer)
        return timer
    }

    func nextTimerDue() -> Int64? {
        var due: Int64? = nil
        for t in timers where !t.isDone {
            due = min(due ?? t.dueMs, t.dueMs)
        }
        return due
    }

    func runTimers() {
        // Index loop: a callback may add timers (appended past `count`) or cancel any.
        let count = timers.count
        var i = 0
        while i < count {
            timers[i].fireIfDue(now: now)
            i += 1
        }
        if timers.contains(where: { $0.isDone }) { timers.removeAll { $0.isDone } }
    }
}
