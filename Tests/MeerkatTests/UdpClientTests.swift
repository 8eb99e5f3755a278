import Glibc
import Testing
@testable import Meerkat

/// A UDP peer on 127.0.0.1 (blocking with a short timeout): what a `udp://` client talks to.
final class UdpPeer {
    let fd: Int32
    let port: Int
    var lastSender = sockaddr_in()

    init() {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    /// One datagram, if one came within 20 ms.
    func receive() -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 2048)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = buf.withUnsafeMutableBytes { b in
            withUnsafeMutablePointer(to: &lastSender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &len) }
            }
        }
        return n >= 0 ? Array(buf[0..<n]) : nil
    }

    /// Sends a datagram back to whoever sent the last one.
    func reply(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &lastSender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}

@Suite(.serialized) struct UdpClientTests {
    @Test func eachSendIsOneDatagramAndEachDatagramOneRead() throws {
        let peer = UdpPeer()
        let manager = Manager()
        var events: [String] = []
        var reads: [String] = []
        let conn = try manager.connect("udp://127.0.0.1:\(peer.port)") { conn, ev in
            switch ev {
            case .open: events.append("open")
            case .resolve: events.append("resolve")
            case .connect:
                events.append("connect")
                try? conn.send("first")
                try? conn.send("second")
            case .read:
                reads.append(conn.received.string)
                conn.consume(conn.received.count)
            case .close: events.append("close")
            default: break
            }
        }
        #expect(conn.isClient)
        // Nothing can be sent before the socket is up.
        #expect(throws: ConnectionError.invalidState) { try conn.send("too early") }
        var got: [String] = []
        manager.pump { () -> Bool in
            if let d = peer.receive() { got.append(String(decoding: d, as: UTF8.self)) }
            return got.count == 2
        }
        #expect(events == ["open", "resolve", "connect"])
        #expect(got == ["first", "second"])
        peer.reply([])  // an empty datagram: nothing to read, and not the end of the connection
        peer.reply(Array("one".utf8))
        peer.reply(Array("two".utf8))
        #expect(manager.pump { reads.count == 2 })
        #expect(reads == ["one", "two"])
        #expect(conn.isOpen)
        conn.close()
        manager.pump(ms: 20)
        #expect(events.last == "close")
    }

    @Test func isUDPIsTrueForUdpClientsOnly() throws {
        let peer = UdpPeer()
        let manager = Manager()
        let udp = try manager.connect("udp://127.0.0.1:\(peer.port)")
        let listener = try manager.listen("tcp://127.0.0.1:0")
        let port = try #require(listener.localAddress).port
        let tcp = try manager.connect("tcp://127.0.0.1:\(port)")
        #expect(udp.isUDP)
        #expect(!tcp.isUDP)
        #expect(!listener.isUDP)
        udp.close()
        manager.pump(ms: 20)
        #expect(!udp.isUDP)  // a stale handle answers as a closed connection
    }

    @Test func aUdpUrlCannotBeListenedOn() {
        let manager = Manager()
        #expect(throws: ListenError.badURL) { try manager.listen("udp://127.0.0.1:0") }
    }
}
