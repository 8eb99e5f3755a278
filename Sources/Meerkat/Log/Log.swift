import CMeerkat

/// How much the library says: each level includes the ones before it. Set at run time
/// (`Log.level`, or `--log-level` of every app).
public enum LogLevel: UInt8, Sendable {
    case none = 0, error, info, debug, verbose

    /// The level named `name` (`error`, `info`, `debug`, `verbose`, `none`), or nil.
    public init?(name: String) {
        switch name {
        case "none": self = .none
        case "error": self = .error
        case "info": self = .info
        case "debug": self = .debug
        case "verbose": self = .verbose
        default: return nil
        }
    }

    /// The letter a line starts with after its time stamp.
    var letter: UInt8 {
        switch self {
        case .none: return UInt8(ascii: "-")
        case .error: return UInt8(ascii: "E")
        case .info: return UInt8(ascii: "I")
        case .debug: return UInt8(ascii: "D")
        case .verbose: return UInt8(ascii: "V")
        }
    }
}

/// Where log lines go: stderr, a fixed ring buffer a page can show, or the app's own
/// function (given each line, newline included, in memory the library reuses).
public enum LogSink {
    case stderr
    case ring(LogRing)
    case custom((UnsafeRawBufferPointer) -> Void)
}

/// The library's log, like Mongoose's `mg_log` but in fixed memory: a line is a static
/// text and up to three integers, formatted into one buffer made once. A line the level
/// filters out costs a comparison: nothing is formatted, nothing allocated.
/// Lines look like `12345 D header timeout: connection 3` (the loop's monotonic clock in
/// ms, the level's letter, the text, the numbers). Secrets (keys, passwords, tokens,
/// Authorization headers, cookies) are never given to it; a hex dump shows what a
/// connection the app chose carries, and is the app's to switch on.
public enum Log {
    /// Lines above this level are dropped before any work. Default: info.
    public static var level: LogLevel = .info
    /// Where lines go. Default: stderr.
    public static var sink: LogSink = .stderr

    /// The longest line (longer texts are cut; the newline is always kept).
    public static let lineMax = 160

    /// Makes a ring of `bytes` (once; no growth) and sends lines there from now on.
    @discardableResult
    public static func useRing(bytes: Int) -> LogRing {
        let ring = LogRing(bytes: bytes)
        sink = .ring(ring)
        return ring
    }

    /// The ring lines go to, if the sink is one.
    public static var ring: LogRing? {
        if case let .ring(r) = sink { return r }
        return nil
    }

    /// True while the sink is being given a line. A line written then (by a custom sink
    /// that logs, or by library code the sink called) is dropped: it would overwrite, in
    /// the one line buffer, the line the sink is still reading, and a sink that sends on
    /// a hex-dumped connection would recurse without end.
    static var inSink = false

    /// True when a line at `level` would be written (check before costly arguments).
    @inline(__always)
    public static func enabled(_ level: LogLevel) -> Bool {
        level.rawValue <= Log.level.rawValue && level != .none && !inSink
    }

    @inline(__always)
    public static func error(_ text: StaticString, _ a: Int64? = nil, _ b: Int64? = nil, _ c: Int64? = nil) {
        if enabled(.error) { write(.error, text, a, b, c) }
    }

    @inline(__always)
    public static func info(_ text: StaticString, _ a: Int64? = nil, _ b: Int64? = nil, _ c: Int64? = nil) {
        if enabled(.info) { write(.info, text, a, b, c) }
    }

    @inline(__always)
    public static func debug(_ text: StaticString, _ a: Int64? = nil, _ b: Int64? = nil, _ c: Int64? = nil) {
        if enabled(.debug) { write(.debug, text, a, b, c) }
    }

    @inline(__always)
    public static func verbose(_ text: StaticString, _ a: Int64? = nil, _ b: Int64? = nil, _ c: Int64? = nil) {
        if enabled(.verbose) { write(.verbose, text, a, b, c) }
    }

    /// `slot N: text [a]`: a line about one connection.
    @inline(never)  // callers in the loop stay small
    static func conn(_ level: LogLevel, _ slot: Int32, _ text: StaticString, _ a: Int64? = nil) {
        guard enabled(level) else { return }
        var w = ByteWriter(base: line, capacity: lineMax - 1)
        start(&w, level)
        w.append("slot ")
        w.append(decimal: Int(slot))
        w.append(": ")
        appendCut(&w, text.rawBuffer)
        if let a { appendNumber(&w, a) }
        emit(w)
    }

    /// The one line buffer: made at the first line written, reused for every line.
    static let line = UnsafeMutablePointer<UInt8>.allocate(capacity: lineMax)

    /// Formats and emits one line (the level was checked by the caller).
    static func write(_ level: LogLevel, _ text: StaticString, _ a: Int64?, _ b: Int64?, _ c: Int64?) {
        var w = ByteWriter(base: line, capacity: lineMax - 1)
        start(&w, level)
        appendCut(&w, text.rawBuffer)
        if let a { appendNumber(&w, a) }
        if let b { appendNumber(&w, b) }
        if let c { appendNumber(&w, c) }
        emit(w)
    }

    /// The time stamp and the level's letter.
    static func start(_ w: inout ByteWriter, _ level: LogLevel) {
        w.append(decimal: UInt64(max(mk_now_ms(), 0)))
        w.append(byte: UInt8(ascii: " "))
        w.append(byte: level.letter)
        w.append(byte: UInt8(ascii: " "))
    }

    /// As much of `bytes` as the line still has room for (a long text is cut, not lost).
    static func appendCut(_ w: inout ByteWriter, _ bytes: UnsafeRawBufferPointer) {
        let room = max(w.capacity - w.count, 0)
        w.append(UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
    }

    /// A space and `n` in decimal.
    static func appendNumber(_ w: inout ByteWriter, _ n: Int64) {
        w.append(byte: UInt8(ascii: " "))
        if n < 0 { w.append(byte: UInt8(ascii: "-")) }
        w.append(decimal: n.magnitude)
    }

    /// Ends the line with a newline (room was kept for it) and hands it to the sink.
    static func emit(_ w: ByteWriter) {
        var n = min(w.count, lineMax - 1)
        line[n] = UInt8(ascii: "\n")
        n += 1
        let bytes = UnsafeRawBufferPointer(start: line, count: n)
        inSink = true
        defer { inSink = false }
        switch sink {
        case .stderr: _ = CMeerkat.write(2, bytes.baseAddress, n)
        case let .ring(r): r.append(bytes)
        case let .custom(f): f(bytes)
        }
    }
}
