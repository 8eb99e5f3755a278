import Meerkat

/// What the dashboard draws, read from /proc and /sys once a second: CPU load since the
/// last sample, memory in use, network bytes per second (every interface but lo), and
/// the first thermal zone's temperature where the board has one.
struct Metrics {
    private var lastBusy: UInt64 = 0
    private var lastTotal: UInt64 = 0
    private var lastRx: UInt64 = 0
    private var lastTx: UInt64 = 0
    private var first = true
    /// One read of a /proc file; 16 KiB covers /proc/stat and /proc/net/dev on a board.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 8)
    private let jsonBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)

    /// A sample as JSON (valid until the next sample), with the app's own counters.
    mutating func sample(name: String, uptime: Int, connections: Int, requests: Int, timeSource: String) -> ByteView {
        let (busy, total) = cpuTimes()
        let cpu = total > lastTotal && !first ? 100 * Double(busy - lastBusy) / Double(total - lastTotal) : 0
        (lastBusy, lastTotal) = (busy, total)
        let (rx, tx) = networkBytes()
        let rxRate = first ? 0 : rx &- lastRx, txRate = first ? 0 : tx &- lastTx
        (lastRx, lastTx) = (rx, tx)
        first = false
        let (memTotal, memAvailable) = memory()
        let temp = temperature()
        var json = JsonWriter(into: jsonBuffer)
        json.add("name", name)
        json.add("uptime", uptime)
        json.add("cpu", cpu, fractionDigits: 1)
        json.add("mem") { m in
            m.add("total", Int(memTotal))
            m.add("used", Int(memTotal - min(memAvailable, memTotal)))
        }
        json.add("net") { n in
            n.add("rx", Int(truncatingIfNeeded: rxRate))
            n.add("tx", Int(truncatingIfNeeded: txRate))
        }
        if let temp { json.add("temp", temp, fractionDigits: 1) } else { json.addNull("temp") }
        json.add("connections", connections)
        json.add("requests", requests)
        json.add("timeSynced", !timeSource.isEmpty)
        json.add("timeSource", timeSource)
        return json.finish() ?? ByteView.empty
    }

    /// The lines of a /proc or /sys file, read into the buffer.
    private func lines(_ path: String, _ body: (ByteView) -> Void) {
        guard let n = try? File.read(path, into: buffer) else { return }
        let all = ByteView(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        var start = 0
        while start < all.count {
            let end = all.firstIndex(of: 10, from: start) ?? all.count
            body(all.slice(start, end))
            start = end + 1
        }
    }

    /// The numbers of a line, in order (non-digits separate them).
    private static func numbers(_ line: ByteView, from: Int = 0) -> [UInt64] {
        var out: [UInt64] = []
        var value: UInt64 = 0, inNumber = false
        for i in from..<line.count {
            let c = line[i]
            if c >= 48 && c <= 57 {
                value = value &* 10 &+ UInt64(c - 48)
                inNumber = true
            } else if inNumber {
                out.append(value)
                value = 0
                inNumber = false
            }
        }
        if inNumber { out.append(value) }
        return out
    }

    /// /proc/stat's first line: (busy, total) jiffies; idle and iowait are not busy.
    private func cpuTimes() -> (UInt64, UInt64) {
        var result: (UInt64, UInt64) = (0, 0)
        var done = false
        lines("/proc/stat") { line in
            guard !done, line.hasPrefix("cpu ") else { return }
            done = true
            let n = Metrics.numbers(line)
            let total = n.reduce(0, &+)
            let idle = (n.count > 3 ? n[3] : 0) &+ (n.count > 4 ? n[4] : 0)
            result = (total &- idle, total)
        }
        return result
    }

    /// /proc/meminfo: (MemTotal, MemAvailable) in KiB.
    private func memory() -> (UInt64, UInt64) {
        var total: UInt64 = 0, available: UInt64 = 0
        lines("/proc/meminfo") { line in
            if line.hasPrefix("MemTotal:") { total = Metrics.numbers(line).first ?? 0 }
            if line.hasPrefix("MemAvailable:") { available = Metrics.numbers(line).first ?? 0 }
        }
        return (total, available)
    }

    /// /proc/net/dev: bytes received and sent by every interface but loopback.
    private func networkBytes() -> (UInt64, UInt64) {
        var rx: UInt64 = 0, tx: UInt64 = 0
        lines("/proc/net/dev") { line in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            guard line.slice(0, colon).trimmingSpaces() != "lo" else { return }
            let n = Metrics.numbers(line, from: colon + 1)
            guard n.count >= 9 else { return }
            rx &+= n[0]
            tx &+= n[8]
        }
        return (rx, tx)
    }

    /// The first thermal zone, in °C; nil on a board (or machine) without one.
    private func temperature() -> Double? {
        var milli: UInt64? = nil
        lines("/sys/class/thermal/thermal_zone0/temp") { line in
            if milli == nil { milli = Metrics.numbers(line).first }
        }
        return milli.map { Double($0) / 1000 }
    }
}
