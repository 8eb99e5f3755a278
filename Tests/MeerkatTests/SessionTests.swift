import Testing
@testable import Meerkat
import MeerkatTesting

/// Login sessions (Auth/): tokens, the cookie, expiry, logout, a full table, through the
/// real parser with the test clock.
@Suite struct SessionTests {
    /// /login?user=U starts a session and sets its cookie; /me answers the session's
    /// user or 401; /logout ends it.
    static let handler: Handler = { conn, ev in
        guard case let .httpMessage(hm) = ev else { return }
        let m = conn.manager
        if hm.uri.hasPrefix("/login") {
            guard let token = m.sessionStart(user: hm.queryVar("user") ?? "") else {
                try? conn.reply(500, "no")
                return
            }
            try? conn.reply(200, token, headers: ["Set-Cookie": m.sessionCookieHeader(token, for: conn)])
        } else if hm.uri == "/logout" {
            let ended = m.sessionEnd(for: hm)
            try? conn.reply(200, ended ? "ended" : "none", headers: ["Set-Cookie": m.sessionCookieHeader(nil, for: conn)])
        } else if let s = m.session(for: hm) {
            try? conn.reply(200, s.user)
        } else {
            try? conn.reply(401, "who")
        }
    }

    func login(_ c: TestChannel, _ user: String = "admin") throws -> String {
        let r = try #require(c.request("GET", "/login?user=" + user))
        #expect(r.status == 200)
        return r.text
    }

    func me(_ c: TestChannel, _ token: String) -> String? {
        guard let r = c.request("GET", "/me", headers: [("Cookie", "theme=x; session=" + token)]) else { return nil }
        return r.status == 200 ? r.text : "401"
    }

    @Test func tokensAreLongRandomAndDistinct() throws {
        let c = try TestChannel(handler: Self.handler)
        var seen = Set<String>()
        for _ in 0..<20 {
            let t = try login(c)
            #expect(t.utf8.count == 43)  // base64url of 32 bytes: 256 bits
            #expect(Base64.decode(t, alphabet: .url)?.count == 32)
            seen.insert(t)
        }
        #expect(seen.count == 20)
    }

    @Test func cookieFlags() throws {
        let c = try TestChannel(handler: Self.handler)
        let r = try #require(c.request("GET", "/login?user=admin"))
        #expect(r.header("Set-Cookie") == "session=\(r.text); HttpOnly; SameSite=Strict; Path=/; Max-Age=43200")
        #expect(
            Manager.sessionCookieHeader("abc", secure: true, maxAgeS: 60)
                == "session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure")
        let out = try #require(c.request("GET", "/logout"))
        #expect(out.header("Set-Cookie") == "session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    }

    @Test func sessionFoundOnlyWithItsToken() throws {
        let c = try TestChannel(handler: Self.handler)
        let t = try login(c, "alice")
        #expect(me(c, t) == "alice")
        var wrong = Array(t.utf8)
        wrong[5] = wrong[5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(me(c, String(decoding: wrong, as: UTF8.self)) == "401")
        #expect(me(c, String(t.dropLast())) == "401")
        #expect(c.request("GET", "/me")?.status == 401)
    }

    @Test func idleExpiry() throws {
        var limits = Limits()
        limits.authSessionIdleS = 60
        limits.idleTimeoutMs = 3_600_000  // the connection outlives the session
        let c = try TestChannel(limits: limits, handler: Self.handler)
        let t = try login(c)
        c.advanceClock(ms: 59_000)
        #expect(me(c, t) == "admin")  // used: the idle time starts again
        c.advanceClock(ms: 59_000)
        #expect(me(c, t) == "admin")
        c.advanceClock(ms: 60_000)
        #expect(me(c, t) == "401")
    }

    @Test func absoluteExpiry() throws {
        var limits = Limits()
        limits.authSessionIdleS = 60
        limits.idleTimeoutMs = 3_600_000  // the connection outlives the session
        limits.authSessionMaxS = 150
        let c = try TestChannel(limits: limits, handler: Self.handler)
        let t = try login(c)
        for _ in 0..<2 {
            c.advanceClock(ms: 50_000)
            #expect(me(c, t) == "admin")
        }
        c.advanceClock(ms: 50_000)  // 150 s after the login, though used 50 s ago
        #expect(me(c, t) == "401")
    }

    @Test func logoutEndsTheSession() throws {
        let c = try TestChannel(handler: Self.handler)
        let t = try login(c)
        let other = try login(c, "bob")
        #expect(c.request("GET", "/logout", headers: [("Cookie", "session=" + t)])?.text == "ended")
        #expect(me(c, t) == "401")
        #expect(me(c, other) == "bob")
        #expect(c.request("GET", "/logout", headers: [("Cookie", "session=" + t)])?.text == "none")
        #expect(c.manager.sessionsEnd(user: "bob") == 1)
        #expect(me(c, other) == "401")
    }

    @Test func fullTableDropsTheOldest() throws {
        var limits = Limits()
        limits.authSessions = 3
        let c = try TestChannel(limits: limits, handler: Self.handler)
        var tokens: [String] = []
        for i in 0..<3 {
            tokens.append(try login(c, "u\(i)"))
            c.advanceClock(ms: 1000)
        }
        #expect(me(c, tokens[0]) == "u0")  // used, but still the oldest made
        let newest = try login(c, "u3")
        #expect(me(c, tokens[0]) == "401")
        #expect(me(c, tokens[1]) == "u1")
        #expect(me(c, tokens[2]) == "u2")
        #expect(me(c, newest) == "u3")
    }

    @Test func badUserNamesAreRefused() throws {
        let c = try TestChannel(handler: Self.handler)
        #expect(c.manager.sessionStart(user: "") == nil)
        #expect(c.manager.sessionStart(user: String(repeating: "x", count: 33)) == nil)
        #expect(c.manager.sessionStart(user: "a\nb") == nil)
        #expect(c.manager.sessionStart(user: String(repeating: "x", count: 32)) != nil)
    }

    @Test func passwordRecordRoundTrip() throws {
        let c = try TestChannel(handler: Self.handler)
        let r = try #require(PasswordRecord(password: "correct horse", iterations: 1000, manager: c.manager))
        let again = try #require(PasswordRecord(text: r.text + "\n"))
        #expect(again.verify("correct horse"))
        #expect(!again.verify("correct hors"))
        #expect(!again.verify("Correct horse"))
        #expect(r.salt != PasswordRecord(password: "correct horse", iterations: 1000, manager: c.manager)?.salt)
        #expect(r.text.hasPrefix("pbkdf2-sha256$1000$"))
        // RFC 7914 §11's PBKDF2-HMAC-SHA256 vector, as a record.
        let vector = try #require(
            PasswordRecord(
                text: "pbkdf2-sha256$1$" + Base64.encode("salt") + "$"
                    + Base64.encode(
                        Pbkdf2.sha256(password: "passwd", salt: "salt", iterations: 1, count: 32)!)))
        #expect(vector.verify("passwd"))
        for bad in [
            "", "pbkdf2-sha256$0$c2FsdA==$" + Base64.encode([UInt8](repeating: 0, count: 32)),
            "pbkdf2-sha256$x$c2FsdA==$AAAA", "sha1$1$c2FsdA==$AAAA", "pbkdf2-sha256$1$c2FsdA==$AAAA",
        ] {
            #expect(PasswordRecord(text: bad) == nil)
        }
        let path = "/tmp/meerkat-password-test-\(r.salt[0])"
        try r.save(to: path)
        #expect(PasswordRecord.load(from: path)?.verify("correct horse") == true)
        try File.remove(path)
    }
}
