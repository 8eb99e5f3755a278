import Testing
@testable import Meerkat
@testable import MeerkatApp
import MeerkatTesting

/// The log: levels filter, the ring keeps the newest whole lines, the hex dump's format.
/// Serialized: `Log.level` and `Log.sink` are global. The level is never raised above
/// the default's neighbour here, so other tests' debug lines stay filtered out.
@Suite(.serialized) struct LogTests {
    /// Lines given to a custom sink that carry `marker` (other tests may log at once).
    final class Lines {
        var all: [String] = []
    }

    func capture(_ body: () -> Void) -> [String] {
        let lines = Lines()
        Log.sink = .custom { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            if text.utf8.contains(UInt8(ascii: "~")) { lines.all.append(text) }
        }
        body()
        Log.sink = .stderr
        Log.level = .info
        return lines.all
    }

    @Test func levelsFilter() {
        let lines = capture {
            Log.level = .error
            Log.info("~info at error", 1)
            Log.error("~error at error", 2)
            Log.level = .info
            Log.debug("~debug at info", 3)
            Log.verbose("~verbose at info")
            Log.info("~info at info", 4, -5)
            Log.level = .none
            Log.error("~error at none")
        }
        #expect(lines.count == 2)
        #expect(lines.first?.hasSuffix(" E ~error at error 2\n") == true)
        #expect(lines.last?.hasSuffix(" I ~info at info 4 -5\n") == true)
    }

    @Test func levelNames() {
        #expect(LogLevel(name: "debug") == .debug)
        #expect(LogLevel(name: "verbose") == .verbose)
        #expect(LogLevel(name: "loud") == nil)
        #expect(!Log.enabled(.debug) || Log.level.rawValue >= LogLevel.debug.rawValue)
    }

    @Test func longLineIsCutAndEnded() {
        let lines = capture {
            Log.info(
                "~ a text far longer than a log line may be, which is cut so that the line still ends with its newline and nothing is written past the buffer: 0123456789 0123456789",
                7)
        }
        #expect(lines.count == 1)
        #expect(lines.first?.utf8.count == Log.lineMax)
        #expect(lines.first?.hasSuffix("\n") == true)
    }

    @Test func ringWrapsAndKeepsTheNewestLines() {
        let ring = LogRing(bytes: 200)
        for i in 0..<40 {
            let line = Array("line number \(i)\n".utf8)
            line.withUnsafeBytes { ring.append($0) }
        }
        var kept: [String] = []
        ring.lines { kept.append(String(decoding: $0, as: UTF8.self)) }
        #expect(kept.last == "line number 39")
        #expect(kept.count == 200 / "line number 39\n".utf8.count)
        #expect(kept == (40 - kept.count..<40).map { "line number \($0)" })
        #expect(ring.count <= ring.capacity)
        #expect(ring.dropped == 40 - kept.count)
        #expect(String(decoding: ring.text, as: UTF8.self).hasSuffix("line number 38\nline number 39\n"))
    }

    @Test func ringAsTheSink() {
        let ring = Log.useRing(bytes: 4096)
        Log.info("~into the ring", 42)
        #expect(Log.ring === ring)
        Log.sink = .stderr
        var kept: [String] = []
        ring.lines { kept.append(String(decoding: $0, as: UTF8.self)) }
        #expect(kept.contains { $0.hasSuffix(" I ~into the ring 42") })
    }

    @Test func hexdumpLineFormat() {
        let bytes = Array("GET / HTTP/1.1\r\nHost".utf8)
        var out: [String] = []
        bytes.withUnsafeBytes { all in
            for (offset, end) in [(0, 16), (16, all.count)] {
                var w = ByteWriter(base: Log.line, capacity: Log.lineMax - 1)
                Log.hexLine(&w, offset: offset, UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                out.append(String(decoding: w.written, as: UTF8.self))
            }
        }
        #expect(out[0] == "0000  47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1..")
        #expect(out[1] == "0010  48 6f 73 74                                      Host")
    }

    @Test func unknownLogLevelIsRefused() {
        #expect(AppOptions.logLevel("debug") { _ in fatalError() } == .debug)
    }

    /// `isHexdumping` logs what the connection writes, at debug: the reply's bytes show
    /// in the dump's ASCII column. (Lines of other tests are filtered out by the probe.)
    @Test func hexdumpOfAConnection() throws {
        let channel = try TestChannel { conn, ev in
            if case .httpMessage = ev {
                conn.isHexdumping = true
                try? conn.reply(200, "~probe~")
            }
        }
        let lines = Lines()
        Log.sink = .custom { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            if text.utf8.contains(UInt8(ascii: "~")) { lines.all.append(text) }
        }
        Log.level = .debug
        let reply = channel.request("GET", "/")
        Log.level = .info
        Log.sink = .stderr
        #expect(reply?.status == 200)
        #expect(lines.all.contains { $0.hasSuffix("  ~probe~\n") && $0.contains(" 7e 70 72 6f 62 65 7e ") })
    }

    /// A custom sink that logs gets its own line whole: the line it writes is dropped, not
    /// formatted over the one the sink is still reading.
    @Test func aLineWrittenFromTheSinkIsDropped() {
        let lines = Lines()
        var calls = 0
        Log.sink = .custom { bytes in
            calls += 1
            if calls == 1 { Log.info("~from inside the sink") }
            let text = String(decoding: bytes, as: UTF8.self)
            if text.utf8.contains(UInt8(ascii: "~")) { lines.all.append(text) }
        }
        Log.info("~the outer line", 1)
        Log.info("~the next line", 2)
        Log.sink = .stderr
        #expect(lines.all.count == 2)
        #expect(lines.all.first?.hasSuffix(" I ~the outer line 1\n") == true)
        #expect(lines.all.last?.hasSuffix(" I ~the next line 2\n") == true)
    }
}
