import Testing
@testable import Meerkat
import MeerkatTesting

/// `hm.credentials` (Basic, Bearer, a named cookie, `access_token`), `replyAuthRequired`,
/// and the client's `Authorization` header, through the real parser and reply path.
@Suite struct CredentialsTests {
    /// Answers with what the request's credentials were read as.
    static let handler: Handler = { conn, ev in
        guard case let .httpMessage(hm) = ev else { return }
        if hm.uri == "/challenge" {
            do throws(ConnectionError) {
                try conn.replyAuthRequired(realm: hm.queryVar("realm") ?? "x", scheme: hm.queryVar("bearer") == nil ? .basic : .bearer)
            } catch {
                try? conn.reply(500, error == .invalidHeader ? "refused invalidHeader" : "refused other")
            }
            return
        }
        let text: String = hm.withCredentials(cookie: "sid") { c in
            switch c {
            case .none: return "none"
            case let .basic(user, password): return "basic [\(user.string)] [\(password.string)]"
            case let .bearer(t): return "bearer \(t.string)"
            case let .cookie(t): return "cookie \(t.string)"
            case let .accessToken(t): return "query \(t.string)"
            case let .invalid(why): return "invalid \(why)"
            }
        }
        try? conn.reply(200, text)
    }

    func seen(_ headers: [(String, String)], target: String = "/") throws -> String {
        let channel = try TestChannel(handler: Self.handler)
        return try #require(channel.request("GET", target, headers: headers)).text
    }

    @Test func basicIsDecoded() throws {
        // RFC 7617 §2's example, and a password holding ':' (only the first splits).
        #expect(try seen([("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")]) == "basic [Aladdin] [open sesame]")
        #expect(try seen([("Authorization", "basic dTpwOnE=")]) == "basic [u] [p:q]")
        #expect(try seen([("Authorization", "Basic Og==")]) == "basic [] []")
    }

    @Test func unreadableBasicIsInvalidNotACrash() throws {
        #expect(try seen([("Authorization", "Basic QWxhZGRpbg==")]) == "invalid Basic credentials without a ':' after the user")
        #expect(try seen([("Authorization", "Basic QWxh*GRpbg==")]) == "invalid Basic credentials that are not base64")
        #expect(try seen([("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ")]) == "invalid Basic credentials that are not base64")  // no padding
        #expect(try seen([("Authorization", "Basic dTpwCg==")]) == "invalid a control character in the user or password")  // "u:p\n"
        #expect(try seen([("Authorization", "Basic")]) == "invalid an Authorization scheme other than Basic and Bearer")
        #expect(try seen([("Authorization", "Digest username=\"u\"")]) == "invalid an Authorization scheme other than Basic and Bearer")
        let huge = String(repeating: "QUFB", count: 200)  // 600 bytes decoded
        #expect(try seen([("Authorization", "Basic " + huge)]) == "invalid Basic credentials too long")
    }

    @Test func tokensFromHeaderCookieAndQuery() throws {
        #expect(try seen([("Authorization", "Bearer abc.DEF-_~+/==")]) == "bearer abc.DEF-_~+/==")
        #expect(try seen([("Authorization", "Bearer a b")]) == "invalid a token with characters no token has")
        #expect(try seen([("Authorization", "Bearer a=b")]) == "invalid a token with characters no token has")
        #expect(try seen([("Cookie", "theme=dark; sid=s3ss10n; x=1")]) == "cookie s3ss10n")
        #expect(try seen([("Cookie", "sid=\"quoted\"")]) == "cookie quoted")
        #expect(try seen([("Cookie", "other=1"), ("Cookie", "sid=second")]) == "cookie second")
        #expect(try seen([("Cookie", "xsid=no")]) == "none")
        #expect(try seen([], target: "/?a=1&access_token=t0k&b=2") == "query t0k")
        #expect(try seen([], target: "/?access_token=t%30k") == "invalid a token with characters no token has")
        #expect(try seen([]) == "none")
        // The header wins over the cookie, the cookie over the query.
        #expect(try seen([("Authorization", "Bearer h"), ("Cookie", "sid=c")], target: "/?access_token=q") == "bearer h")
        #expect(try seen([("Cookie", "sid=c")], target: "/?access_token=q") == "cookie c")
    }

    @Test func authRequiredAsksForALogin() throws {
        let channel = try TestChannel(handler: Self.handler)
        let basic = try #require(channel.request("GET", "/challenge?realm=my%20board"))
        #expect(basic.status == 401)
        #expect(basic.header("WWW-Authenticate") == "Basic realm=\"my board\", charset=\"UTF-8\"")
        let bearer = try #require(channel.request("GET", "/challenge?realm=api&bearer=1"))
        #expect(bearer.status == 401 && bearer.header("WWW-Authenticate") == "Bearer realm=\"api\"")
        // A realm that would break out of its quotes is refused, nothing sent.
        #expect(channel.request("GET", "/challenge?realm=a%22b")?.text == "refused invalidHeader")
        #expect(channel.request("GET", "/challenge?realm=a%5Cb")?.text == "refused invalidHeader")
        #expect(channel.request("GET", "/challenge?realm=a%0Db")?.text == "refused invalidHeader")
    }

    @Test func basicCredentialsIsPymongoosesMapping() throws {
        let channel = try TestChannel { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            let c = hm.basicCredentials
            try? conn.reply(200, c.map { "\($0.user)/\($0.password)" } ?? "nil")
        }
        #expect(channel.request("GET", "/", headers: [("Authorization", "Basic dTpw")])?.text == "u/p")
        #expect(channel.request("GET", "/", headers: [("Authorization", "Bearer x")])?.text == "nil")
    }

    func written(_ auth: HttpAuth, capacity: Int = 256) -> String? {
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buf.deallocate() }
        var w = ByteWriter(base: buf, capacity: capacity)
        do throws(ConnectionError) {
            try w.append(authorization: auth)
        } catch {
            return error == .invalidHeader ? "throws invalidHeader" : "throws other"
        }
        return w.overflowed ? nil : String(decoding: w.written, as: UTF8.self)
    }

    @Test func theClientWritesAuthorization() {
        #expect(written(.basic(user: "Aladdin", password: "open sesame")) == "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n")
        #expect(written(.bearer("t0k3n")) == "Authorization: Bearer t0k3n\r\n")
        #expect(written(.basic(user: "a:b", password: "p")) == "throws invalidHeader")
        #expect(written(.basic(user: "a", password: "p\r\nX: y")) == "throws invalidHeader")
        #expect(written(.bearer("a b")) == "throws invalidHeader")
        #expect(written(.bearer("")) == "throws invalidHeader")
        #expect(written(.basic(user: "u", password: String(repeating: "p", count: 200)), capacity: 256) == nil)  // does not fit
    }
}
