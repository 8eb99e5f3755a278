import Testing
@testable import Meerkat
import MeerkatTesting

/// Every answer the library makes itself that is not a page (and `replyError`) carries
/// `ErrorHeaders`: serveFile/serveDir's 403/404/405 (serveFile has no app in the
/// integration suite), the Router's 405, bad input's 400, the cross-origin upgrade's
/// 403, the login throttle's 429, 401, and the busy 503 written out by hand.
@Suite struct ErrorHeadersTests {
    static let router: Router = {
        var r = Router()
        r.get("/routed") { conn, _, _ in try? conn.reply(200, "ok") }
        return r
    }()

    static let handler: Handler = { conn, ev in
        guard case let .httpMessage(hm) = ev else { return }
        if hm.uri == "/file" {
            conn.serveFile(hm, path: "/nonexistent/meerkat-test-file")
        } else if hm.uri == "/ws" {
            conn.wsUpgrade(hm)
        } else if hm.uri == "/auth" {
            try? conn.replyAuthRequired(realm: "test")
        } else if hm.uri == "/throttled" {
            try? conn.replyTooManyLogins(retryAfter: 3)
        } else if hm.uri == "/app-error" {
            try? conn.replyError(400, "{\"error\": \"no\"}\n", headers: ["Content-Type": "application/json"])
        } else if !router.handle(conn, hm) {
            conn.serveDir(hm, root: "/tmp")
        }
    }

    static func carries(_ reply: TestReply?) -> Bool {
        reply?.header("content-security-policy") == "default-src 'none'; frame-ancestors 'none'"
            && reply?.header("x-content-type-options") == "nosniff" && reply?.header("referrer-policy") == "no-referrer"
    }

    @Test func libraryAnswersCarryThem() throws {
        let asked: [(String, String, [(String, String)], Int)] = [
            ("GET", "/file", [], 404), ("POST", "/file", [], 405), ("GET", "/meerkat-no-such-file", [], 404),
            ("DELETE", "/meerkat-no-such-file", [], 405), ("GET", "/a/%2e%2e/b", [], 403), ("POST", "/routed", [], 405),
            ("GET", "/auth", [], 401), ("GET", "/throttled", [], 429), ("GET", "/app-error", [], 400),
            (
                "GET", "/ws",
                [
                    ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://evil.example"),
                ], 403
            ),
        ]
        for (method, target, headers, status) in asked {
            let reply = try TestChannel(handler: Self.handler).request(method, target, headers: headers)
            #expect(reply?.status == status && Self.carries(reply), "\(method) \(target): \(reply?.status ?? 0)")
        }
        let bad = try TestChannel(handler: Self.handler)
        bad.write("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n")
        let reply = bad.readReply()
        #expect(reply?.status == 400 && Self.carries(reply))
    }

    @Test func theBusyAnswerSpellsThemOut() {
        let busy = String(decoding: Manager.busyAnswer.rawBuffer, as: UTF8.self)
        let lines = String(decoding: ErrorHeaders.lines.rawBuffer, as: UTF8.self)
        #expect(busy.utf8.starts(with: "HTTP/1.1 503 ".utf8))
        #expect(lines.split(separator: "\r\n").allSatisfy { line in busy.split(separator: "\r\n").contains(line) })
        let body = busy.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init) ?? ""
        #expect(busy.split(separator: "\r\n").contains("Content-Length: \(body.utf8.count)"))
    }
}
