import Testing
@testable import Meerkat

/// Two WebSocket endpoints on one server, each broadcasting to its own clients only.
@Suite(.serialized) struct WsGroupTests {
    @Test func twoEndpointsDoNotGetEachOthersBroadcasts() throws {
        var opened = 0
        let manager = Manager { conn, ev in
            switch ev {
            case let .httpMessage(hm): conn.wsUpgrade(hm)
            case let .wsOpen(hm):
                conn.wsGroup = hm.uri == "/chat" ? 1 : 2
                opened += 1
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let paths = ["/chat", "/feed", "/chat", "/feed"]
        let clients = paths.map { _ in TestClient(port: l.localAddress!.port) }
        for (c, path) in zip(clients, paths) {
            c.send(
                "GET \(path) HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        }
        #expect(manager.pump { opened == 4 })
        for c in clients { _ = read(c, from: manager, until: "\r\n\r\n") }

        #expect(manager.wsBroadcast("to chat", group: 1) == (reached: 2, skipped: 0))
        #expect(manager.wsBroadcast("to feed", group: 2) == (reached: 2, skipped: 0))
        manager.pump(ms: 100)
        let got = clients.map { $0.receive() ?? "" }
        for (text, path) in zip(got, paths) {
            #expect(text.contains(path == "/chat" ? "to chat" : "to feed"))
            #expect(!text.contains(path == "/chat" ? "to feed" : "to chat"))
        }
        // Without a group, every WebSocket, as before.
        #expect(manager.wsBroadcast("to all") == (reached: 4, skipped: 0))
        manager.close()
    }
}
