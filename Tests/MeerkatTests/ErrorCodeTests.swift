import CMeerkat
import Testing
@testable import Meerkat

/// `.error` keeps its one payload (so `case .error(let text)` matches as before); the
/// errno behind it is `conn.lastErrno` inside the handler.
@Suite(.serialized) struct ErrorCodeTests {
    /// A port nothing listens on: one a listener had, closed again.
    private func freePort() throws -> Int {
        let probe = Manager()
        let listener = try probe.listen("tcp://127.0.0.1:0")
        let port = try #require(listener.localAddress).port
        probe.close()
        return port
    }

    @Test func aRefusedConnectSaysWhichErrno() throws {
        let port = try freePort()
        let manager = Manager()
        var texts: [String] = []
        var codes: [Int32] = []
        let conn = try manager.connect("tcp://127.0.0.1:\(port)") { conn, ev in
            if case .error(let text) = ev {
                texts.append("\(text)")
                codes.append(conn.lastErrno)
            }
        }
        #expect(manager.pump { !conn.isOpen })
        #expect(texts == ["connect: connection refused (ECONNREFUSED)"])
        #expect(codes == [ECONNREFUSED])
    }

    @Test func lastErrnoIsZeroOutsideTheErrorHandler() throws {
        let manager = Manager()
        let listener = try manager.listen("tcp://127.0.0.1:0")
        let port = try #require(listener.localAddress).port
        var seen: [Int32] = []
        let conn = try manager.connect("tcp://127.0.0.1:\(port)") { conn, ev in
            if case .connect = ev { seen.append(conn.lastErrno) }
        }
        #expect(manager.pump { !seen.isEmpty })
        #expect(seen == [0])
        #expect(conn.lastErrno == 0)
    }
}

/// `conn.error(text)`: the docs' `error(msg)`, `.error` then `.close`.
@Suite(.serialized) struct ConnectionErrorCallTests {
    @Test func errorDeliversTheTextThenCloses() throws {
        let manager = Manager()
        let listener = try manager.listen("tcp://127.0.0.1:0")
        let port = try #require(listener.localAddress).port
        var events: [String] = []
        let conn = try manager.connect("tcp://127.0.0.1:\(port)") { conn, ev in
            switch ev {
            case .connect: conn.error("app: giving up")
            case .error(let text): events.append("error: \(text) errno \(conn.lastErrno)")
            case .close: events.append("close")
            default: break
            }
        }
        #expect(manager.pump { !conn.isOpen })
        #expect(events == ["error: app: giving up errno 0", "close"])
        conn.error("on a closed handle: nothing")
        #expect(events.count == 2)
    }
}
