import CMeerkat
@_spi(Testing) import Meerkat

/// The manager behind one or more `TestChannel`s and the clients' ends of their socket
/// pairs. Shared by the channels of one manager (the first and each `newConnection()`),
/// so that running the loop for one reads what it sent to every other (the way real
/// clients read on their own), and the fake clock moves for all of them at once. Holds
/// the peers, never the channels, so no cycle keeps a channel alive; the manager is
/// closed when the last channel goes.
final class TestLoop {
    let manager: Manager
    let handler: Handler
    private(set) var peers: [TestPeer] = []

    init(limits: Limits, handler: @escaping Handler) {
        manager = Manager(limits: limits)
        self.handler = handler
        manager.testClock = manager.loopTime  // the fake clock starts where the real one is
    }

    deinit {
        manager.close()
        for peer in peers { peer.close() }
    }

    /// A new socket pair: one end served as an accepted connection, the other a peer.
    func connect() throws(ConnectError) -> (Connection, TestPeer) {
        var fds: (Int32, Int32) = (-1, -1)
        let rc = withUnsafeMutableBytes(of: &fds) { mk_socketpair($0.baseAddress!.assumingMemoryBound(to: Int32.self)) }
        guard rc == 0 else { throw .system(-rc) }
        let peer = TestPeer(fd: fds.1)
        do throws(ConnectError) {
            let connection = try manager.serve(accepted: fds.0, handler: handler)
            peers.append(peer)
            return (connection, peer)
        } catch {
            _ = CMeerkat.close(fds.0)
            peer.close()
            throw error
        }
    }

    /// A channel went away: its end is closed (the server sees the client leave).
    func remove(_ peer: TestPeer) {
        peer.close()
        peers.removeAll { $0 === peer }
    }

    /// Polls until nothing more is ready, each peer reading what came for it (and
    /// answering pings, if it does).
    func pump() {
        for _ in 0..<64 {
            manager.poll(0)
            var got = false
            for peer in peers where peer.read() { got = true }
            if !got { break }
        }
    }

    // MARK: The fake clock

    /// Moves the loop's clock on by `ms`, stopping at each moment the loop has timed
    /// work for (a timer, a timeout, a keep-alive ping), so that everything comes due
    /// in order and as often as it would in that much real time; the peers read (and
    /// answer pings) at every stop.
    func advance(_ ms: Int) {
        pump()
        guard let start = manager.testClock else { return }
        var clock = start
        let target = start + Int64(max(ms, 0))
        while clock < target {
            let due = manager.nextTimedWork()
            // Work due already (a close, a resume) was just done: step on by 1 ms so a
            // loop that keeps asking for "now" cannot hold the clock still.
            clock = due > clock ? min(due, target) : clock + 1
            manager.testClock = clock
            pump()
        }
    }
}

/// The client's end of one socket pair: what the handler sent that no call has read yet.
final class TestPeer {
    let fd: Int32
    var unread: [UInt8] = []
    /// The handler's side closed (or the pair failed): nothing more will come.
    var closed = false
    /// Set once an upgrade was answered 101: what follows is WebSocket frames.
    var speaksWebSocket = false
    /// Answer each ping with a pong as it arrives, and drop it, as a browser does.
    var answersPings = true
    /// Bytes at the front of `unread` already looked at for pings (whole frames).
    private var scanned = 0
    private var fdOpen = true

    init(fd: Int32) { self.fd = fd }

    func close() {
        guard fdOpen else { return }
        fdOpen = false
        _ = CMeerkat.close(fd)
    }

    /// Reads what the pair holds; false when there was nothing.
    func read() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        var got = false
        while !closed && fdOpen {
            let n = chunk.withUnsafeMutableBytes { mk_read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                unread += chunk[0..<n]
                got = true
            } else {
                if n == 0 || -n != Int(EAGAIN) { closed = true }
                break
            }
        }
        if got && speaksWebSocket && answersPings { answerPings() }
        return got
    }

    /// Writes all of `bytes` without running the loop (false when the pair is full).
    func writeNow(_ bytes: UnsafeRawBufferPointer, from at: inout Int) -> Bool {
        while at < bytes.count {
            let n = mk_send(fd, bytes.baseAddress! + at, bytes.count - at)
            guard n > 0 else { return false }
            at += n
        }
        return true
    }

    /// Takes `used` bytes off the front of what is unread.
    func consume(_ used: Int) {
        unread.removeFirst(used)
        scanned = max(0, scanned - used)
    }

    func consumeAll() {
        unread.removeAll()
        scanned = 0
    }

    /// Pongs every ping among the whole frames not looked at yet, and drops it: a
    /// browser's pings never reach its page.
    private func answerPings() {
        while let frame = TestFrame.parse(unread, at: scanned) {
            guard frame.opcode == UInt8(WEBSOCKET_OP_PING) else {
                scanned = frame.end
                continue
            }
            let pong = TestFrame.masked(opcode: UInt8(WEBSOCKET_OP_PONG), payload: frame.payload(unread))
            pong.withUnsafeBytes { b in
                var at = 0
                _ = writeNow(b, from: &at)  // a pong the pair cannot take now is skipped, as a busy peer's
            }
            unread.removeSubrange(scanned..<frame.end)
        }
    }
}

/// WebSocket frames as a client sees them: the server's (unmasked) read, its own
/// written masked (RFC 6455 §5.3).
struct TestFrame {
    let fin: Bool
    let opcode: UInt8
    let payloadStart: Int
    let end: Int

    func payload(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[payloadStart..<end] }

    /// The whole server frame at `at`, or nil when it is not all there (or not a frame).
    static func parse(_ bytes: [UInt8], at: Int) -> TestFrame? {
        guard at < bytes.count,
            let h = bytes.withUnsafeBufferPointer({ TestWire.serverFrameHeader(UnsafeBufferPointer(rebasing: $0[at...])) }),
            UInt64(bytes.count - at - h.headerLength) >= h.payloadLength
        else { return nil }
        let start = at + h.headerLength
        return TestFrame(fin: h.fin, opcode: h.opcode, payloadStart: start, end: start + Int(h.payloadLength))
    }

    /// One whole frame from the client: header, a mask, the masked payload.
    static func masked(opcode: UInt8, payload: some Collection<UInt8>, fin: Bool = true) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14)
        var n = frame.withUnsafeMutableBufferPointer {
            TestWire.writeFrameHeader($0.baseAddress!, fin: fin, opcode: opcode, length: UInt64(payload.count))
        }
        frame[1] |= 0x80
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        for k in 0..<4 { frame[n + k] = mask[k] }
        n += 4
        frame.removeLast(frame.count - n)
        var i = 0
        for byte in payload {
            frame.append(byte ^ mask[i & 3])
            i += 1
        }
        return frame
    }
}
