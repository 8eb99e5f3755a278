// Checks of the loop's pure parts that must hold on every board (make codec-vectors runs
// them under qemu for the ARM ones; the SwiftPM tests run them on the host): the timer
// heap with 10,000 timers (order, ties, cancelling, the reserved room reused, not grown),
// the log ring dropping whole lines, and the hex dump's line format.
#if !MEERKAT_CODEC_RUNNER
@testable import Meerkat
#endif

enum LoopVectors {
    typealias Check = VectorTally.Check

    /// Runs every check; `report` hears each wrong answer (name, got, expected).
    static func run(_ report: (StaticString, String, StaticString) -> Void) -> (passed: Int, failed: Int) {
        VectorTally.run(report) { check in
            timerHeap(check)
            timerHeapRoom(check)
            logRing(check)
            hexLine(check)
        }
    }

    /// 10,000 timers due in 0..<500 ms (many ties), every 7th cancelled: they come out
    /// due-time first, ties in the order they were added, none of the cancelled ones.
    static func timerHeap(_ check: Check) {
        let total = 10_000
        var heap = TimerHeap(capacity: total)
        var timers: [Timer] = []
        timers.reserveCapacity(total)
        var seed: UInt32 = 12345
        for _ in 0..<total {
            seed = seed &* 1_103_515_245 &+ 12345  // a fixed sequence: the same on every board
            let t = Timer(intervalMs: 0, repeats: false, dueMs: Int64((seed >> 16) % 500), callback: {})
            timers.append(t)
            heap.insert(t)
        }
        var cancelled = 0
        for i in stride(from: 0, to: total, by: 7) {
            timers[i].cancel()
            cancelled += 1
        }
        let mark = heap.mark
        // Nothing is due before the first due time.
        check("timers: none due before the first", heap.popDue(now: -1, mark: mark) == nil ? "none" : "one", "none")
        var popped = 0, outOfOrder = 0, dead = 0
        var last: (due: Int64, order: UInt64) = (-1, 0)
        while let t = heap.popDue(now: 1000, mark: mark) {
            popped += 1
            if t.isDone { dead += 1 }
            if t.dueMs < last.due || (t.dueMs == last.due && t.order <= last.order) { outOfOrder += 1 }
            last = (t.dueMs, t.order)
        }
        check("timers: 10,000 less the cancelled come out", "\(popped + cancelled)", "10000")
        check("timers: in due order, ties as added", "\(outOfOrder)", "0")
        check("timers: no cancelled one fires", "\(dead)", "0")
        check("timers: heap empty after", heap.nextDue() == nil ? "empty" : "left", "empty")
    }

    /// A full heap sweeps its cancelled timers before it would grow; a timer added after
    /// the mark waits for the next pass.
    static func timerHeapRoom(_ check: Check) {
        var heap = TimerHeap(capacity: 4)
        let room = heap.capacity  // at least 4: the allocator may round up
        let a = (0..<room).map { i in Timer(intervalMs: 0, repeats: false, dueMs: Int64(10 + i), callback: {}) }
        for t in a { heap.insert(t) }
        a[0].cancel()
        a[2].cancel()
        let mark = heap.mark
        heap.insert(Timer(intervalMs: 0, repeats: false, dueMs: 50, callback: {}))
        check(
            "timers: full heap swept, not grown", "\(heap.count == room - 1 && heap.capacity == room)", "true")
        var dues: [Int64] = []
        while let t = heap.popDue(now: 100, mark: mark) { dues.append(t.dueMs) }
        check("timers: the live ones come out", "\(dues.first ?? -1) \(dues.count > 1 ? dues[1] : -1)", "11 13")
        check("timers: added after the mark waits", "\(dues.count == room - 2 ? "waits" : "fired")", "waits")
        check("timers: then it is due", "\(heap.popDue(now: 100, mark: heap.mark)?.dueMs ?? -1)", "50")
    }

    /// A ring of the smallest size (one log line's worth) keeps the newest whole lines.
    static func logRing(_ check: Check) {
        let ring = LogRing(bytes: 0)
        check("log ring: smallest is one line", "\(ring.capacity)", "160")
        for i in 0..<40 {
            let line = Array("line \(i)\n".utf8)
            line.withUnsafeBytes { ring.append($0) }
        }
        var first = "", kept = 0
        ring.lines { line in
            if kept == 0 { first = String(decoding: line, as: UTF8.self) }
            kept += 1
        }
        // 10 lines of 7 bytes and 30 of 8 = 310 bytes; the newest that fit in 160 are
        // "line 20" to "line 39" (20 × 8), and 20 lines were dropped whole.
        check("log ring: oldest kept line", first, "line 20")
        check("log ring: lines kept", "\(kept)", "20")
        check("log ring: lines dropped", "\(ring.dropped)", "20")
        check("log ring: bytes kept", "\(ring.count)", "160")
    }

    static func hexLine(_ check: Check) {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 128)
        defer { buffer.deallocate() }
        func line(offset: Int, _ bytes: [UInt8]) -> String {
            var w = ByteWriter(base: buffer, capacity: 128)
            bytes.withUnsafeBytes { Log.hexLine(&w, offset: offset, $0) }
            return String(decoding: w.written, as: UTF8.self)
        }
        check(
            "hexdump: full line", line(offset: 0x10, Array("\r\nHost: a.b\t~\u{7f}XY".utf8)),
            "0010  0d 0a 48 6f 73 74 3a 20 61 2e 62 09 7e 7f 58 59  ..Host: a.b.~.XY")
        check(
            "hexdump: short line padded", line(offset: 0x1230, [0x00, 0xff, 0x41]),
            "1230  00 ff 41                                         ..A")
    }
}
