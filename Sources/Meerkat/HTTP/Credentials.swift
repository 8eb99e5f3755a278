/// What a request offers to prove who sent it (like Mongoose's `mg_http_creds`), found
/// in this order: the `Authorization` header (Basic or Bearer), the named cookie, then
/// an `access_token` query parameter. Every case is a view: into the request, or for
/// Basic into the decode buffer the caller lent. Nothing is allocated.
public enum Credentials {
    /// The request offers none.
    case none
    /// `Authorization: Basic` (RFC 7617), decoded. The password may hold any bytes but
    /// CR, LF and NUL; the user has no ':'.
    case basic(user: ByteView, password: ByteView)
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1).
    case bearer(ByteView)
    /// The value of the cookie the caller named (quotes removed). Held, like every
    /// token here, to RFC 6750's b64token characters (base64, base64url, hex all are).
    case cookie(ByteView)
    /// `?access_token=<token>` (RFC 6750 §2.3), as sent: tokens are URL-safe (base64url,
    /// hex), so no percent-decoding is done; one holding '%' is refused.
    case accessToken(ByteView)
    /// The request offers credentials that cannot be read: answer 401
    /// (`replyAuthRequired`), as for wrong ones.
    case invalid(CredentialsError)

    /// Bytes a Basic user and password may take together (decoded), and so the stack
    /// `withCredentials` lends.
    public static let maxBasicCount = 384

    /// The Bearer, cookie or query token; nil for the other cases.
    public var token: ByteView? {
        switch self {
        case let .bearer(t), let .cookie(t), let .accessToken(t): return t
        default: return nil
        }
    }
}

/// Why offered credentials could not be read.
public enum CredentialsError: Equatable {
    /// Basic's value is not strict base64 (RFC 4648).
    case badBase64
    /// Basic's decoded value has no ':' between user and password.
    case noColon
    /// Basic's value decodes to more than `Credentials.maxBasicCount` bytes (or more
    /// than the buffer lent).
    case tooLong
    /// A control byte (CR, LF, NUL…) in the decoded user or password.
    case badCharacter
    /// An `Authorization` scheme other than Basic and Bearer, or one with no value.
    case unknownScheme
    /// A token with characters no token has (RFC 6750's b64token), or empty.
    case badToken
}

/// In words, so that `print("\(why)")` says it on a board too: Embedded Swift prints only
/// a `description`, never a case name.
extension CredentialsError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .badBase64: return "Basic credentials that are not base64"
        case .noColon: return "Basic credentials without a ':' after the user"
        case .tooLong: return "Basic credentials too long"
        case .badCharacter: return "a control character in the user or password"
        case .unknownScheme: return "an Authorization scheme other than Basic and Bearer"
        case .badToken: return "a token with characters no token has"
        }
    }
}

extension HttpMessage {
    /// The request's credentials; a Basic user and password are decoded into `buffer`
    /// (lend `Credentials.maxBasicCount` bytes, e.g. from the app's fixed memory) and
    /// are views into it. `cookie` names the session cookie to look for, if any.
    public func credentials(cookie: StaticString? = nil, into buffer: UnsafeMutableRawBufferPointer) -> Credentials {
        if let auth = header("Authorization") { return Self.authorization(auth.trimmingSpaces(), into: buffer) }
        if let name = cookie, let value = cookieValue(name) { return Self.checkedToken(value, Credentials.cookie) }
        var token: ByteView? = nil
        URLEncoding.forEachRawPair(query) { key, value in
            guard key.equals(StaticString("access_token").rawBuffer) else { return true }
            token = value
            return false
        }
        if let token { return Self.checkedToken(token, Credentials.accessToken) }
        return .none
    }

    /// Calls `body` with the request's credentials, decoding Basic into a buffer on the
    /// stack: no allocation. The views are valid only inside `body`.
    public func withCredentials<R>(cookie: StaticString? = nil, _ body: (Credentials) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: Credentials.maxBasicCount, alignment: 1) {
            body(credentials(cookie: cookie, into: $0))
        }
    }

    /// The Basic user and password as strings, or nil when the request has none or they
    /// cannot be read (pymongoose's `http_basic_auth` on the server side). Allocates:
    /// for a hot path use `withCredentials`.
    public var basicCredentials: (user: String, password: String)? {
        withCredentials { c in
            guard case let .basic(user, password) = c else { return nil }
            return (user.string, password.string)
        }
    }

    /// The value of cookie `name` in the `Cookie` header(s) (RFC 6265 §4.2: `a=b; c=d`),
    /// without surrounding quotes; nil when absent.
    public func cookieValue(_ name: StaticString) -> ByteView? {
        for (n, value) in headers where n.equalsIgnoringCase("Cookie") {
            var start = 0
            while start < value.count {
                let end = value.firstIndex(of: UInt8(ascii: ";"), from: start) ?? value.count
                let pair = value.slice(start, end).trimmingSpaces()
                if let eq = pair.firstIndex(of: UInt8(ascii: "=")), pair.slice(0, eq).equals(name.rawBuffer) {
                    var v = pair.slice(eq + 1, pair.count)
                    if v.count >= 2 && v[0] == UInt8(ascii: "\"") && v[v.count - 1] == UInt8(ascii: "\"") {
                        v = v.slice(1, v.count - 1)
                    }
                    return v
                }
                start = end + 1
            }
        }
        return nil
    }

    private static func authorization(_ value: ByteView, into buffer: UnsafeMutableRawBufferPointer) -> Credentials {
        let space = value.firstIndex(of: ASCII.space) ?? value.count
        let scheme = value.slice(0, space)
        let rest = value.slice(space, value.count).trimmingSpaces()
        guard !rest.isEmpty else { return .invalid(.unknownScheme) }
        if scheme.equalsIgnoringCase("Bearer") { return checkedToken(rest, Credentials.bearer) }
        guard scheme.equalsIgnoringCase("Basic") else { return .invalid(.unknownScheme) }
        let room = min(buffer.count, Credentials.maxBasicCount)
        guard Base64.maxDecodedCount(rest.count) <= room + 2 else { return .invalid(.tooLong) }
        guard let n = Base64.decode(rest.buffer, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<room])) else {
            return .invalid(Base64.maxDecodedCount(rest.count) > room ? .tooLong : .badBase64)
        }
        let decoded = ByteView(base: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count: n)
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return .invalid(.noColon) }
        for b in decoded.buffer where b < 0x20 || b == 0x7F { return .invalid(.badCharacter) }
        return .basic(user: decoded.slice(0, colon), password: decoded.slice(colon + 1, n))
    }

    /// A token as RFC 6750's b64token (`HttpAuth.isToken`).
    private static func checkedToken(_ t: ByteView, _ make: (ByteView) -> Credentials) -> Credentials {
        HttpAuth.isToken(t.buffer) ? make(t) : .invalid(.badToken)
    }
}

/// The scheme a 401 asks for.
public enum AuthScheme {
    case basic
    case bearer
}

extension Connection {
    /// Answers 401 Unauthorized with `WWW-Authenticate: Basic realm="…"` (RFC 7617;
    /// `charset="UTF-8"` added) or `Bearer realm="…"` (RFC 6750), so a browser asks for
    /// a login. The realm must be printable ASCII without '"' or '\' (a quoted-string
    /// with nothing to escape): anything else throws `.invalidHeader` and sends nothing.
    public func replyAuthRequired(realm: String, scheme: AuthScheme = .basic) throws(ConnectionError) {
        guard realm.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { throw .invalidHeader }
        let challenge =
            scheme == .basic ? "Basic realm=\"" + realm + "\", charset=\"UTF-8\"" : "Bearer realm=\"" + realm + "\""
        try manager.handlerReply(
            try openSlot(), status: 401, body: Payload("Unauthorized\n"),
            headers: ["WWW-Authenticate": challenge], extra: ErrorHeaders.lines)
    }
}
