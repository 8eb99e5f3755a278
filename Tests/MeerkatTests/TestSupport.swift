import Glibc
@testable import Meerkat

/// A blocking TCP client for manager tests (the test process drives the manager's loop
/// itself, so the client never waits long: every read is preceded by `pump`).
final class TestClient {
    let fd: Int32

    /// `receiveBuffer` sets SO_RCVBUF first: a small one makes the server's writes partial.
    init(port: Int, receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect failed")
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, msgNoSignal) }
            precondition(n > 0, "send failed")
            off += n
        }
    }

    /// Sends what the socket takes now (non-blocking) from the front of `bytes`.
    func trySend(_ bytes: inout [UInt8]) {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, msgNoSignal) }
        if n > 0 { bytes.removeFirst(n) }
    }

    /// What has arrived so far (non-blocking); nil after EOF with nothing read.
    func receive() -> String? {
        receiveBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the server has closed the connection (EOF or reset), reading what is left.
    var closedByPeer: Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    func receiveBytes() -> [UInt8]? {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { out += buf[0..<n]; continue }
            if n == 0 && out.isEmpty { return nil }
            break
        }
        return out
    }
}

extension Manager {
    /// Polls (10 ms steps) until `done` holds or `limitMs` passes; returns `done()`.
    @discardableResult
    func pump(limitMs: Int = 3000, until done: () -> Bool) -> Bool {
        var waited = 0
        while !done() && waited < limitMs {
            poll(10)
            waited += 10
        }
        return done()
    }

    /// Polls for `ms` milliseconds.
    func pump(ms: Int) { pump(limitMs: ms) { false } }
}

/// Polls `manager` while reading from `client` until `text` has arrived.
func read(_ client: TestClient, from manager: Manager, until text: String, limitMs: Int = 3000) -> String {
    var got = ""
    manager.pump(limitMs: limitMs) {
        if let more = client.receive() { got += more }
        return got.contains(text)
    }
    return got
}

/// MSG_NOSIGNAL (Linux). Spelled out: with both Glibc and the shim's headers imported,
/// the macro's name is not always found after the shim header changes.
let msgNoSignal: Int32 = 0x4000
