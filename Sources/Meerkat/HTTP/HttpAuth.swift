/// Credentials an HTTP client request carries (`httpRequest(…, auth:)`), written as its
/// `Authorization` header straight into the request head: nothing is allocated.
/// pymongoose's `http_basic_auth(user, pass)` is `auth: .basic(user:password:)`.
public enum HttpAuth {
    /// `Authorization: Basic base64(user:password)` (RFC 7617). The user may not hold
    /// ':'; neither may hold control bytes.
    case basic(user: String, password: String)
    /// `Authorization: Bearer <token>` (RFC 6750); the token must be a b64token.
    case bearer(String)
}

extension ByteWriter {
    /// Appends `Authorization: …\r\n`. Throws `.invalidHeader` for a user or password
    /// the header cannot carry, or a token with other than b64token characters.
    mutating func append(authorization auth: HttpAuth) throws(ConnectionError) {
        switch auth {
        case let .bearer(token):
            guard token.withBytes({ HttpAuth.isToken($0) }) else { throw .invalidHeader }
            append("Authorization: Bearer ")
            append(string: token)
        case let .basic(user, password):
            guard user.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != ASCII.colon }),
                password.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
            else { throw .invalidHeader }
            append("Authorization: Basic ")
            // "user:password" goes to the end of the free room, its base64 in front of
            // it (the two never overlap), so the pair is never joined in a String.
            let plain = user.utf8.count + 1 + password.utf8.count
            let encoded = Base64.encodedCount(plain)
            guard !overflowed, encoded + plain <= capacity - count else {
                skip(capacity)  // marks the writer overflowed: the request does not fit
                return
            }
            let scratch = base + capacity - plain
            var at = 0
            for b in user.utf8 { scratch[at] = b; at += 1 }
            scratch[at] = ASCII.colon
            at += 1
            for b in password.utf8 { scratch[at] = b; at += 1 }
            let n = Base64.encode(
                UnsafeRawBufferPointer(start: scratch, count: plain),
                into: UnsafeMutableRawBufferPointer(start: base + count, count: encoded))
            skip(n ?? 0)
            for i in 0..<plain { scratch[i] = 0 }  // the password does not linger in the scratch block
        }
        append("\r\n")
    }
}

extension HttpAuth {
    /// RFC 6750's b64token: one or more of letters, digits and `-._~+/`, then only '='
    /// (padding). Tokens sent and received are both held to it.
    static func isToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        var padding = false
        for c in bytes {
            if c == UInt8(ascii: "=") {
                padding = true
            } else if padding || !isTokenChar(c) {
                return false
            }
        }
        return true
    }

    private static func isTokenChar(_ c: UInt8) -> Bool {
        ASCII.isAlpha(c) || ASCII.isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "~") || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
    }
}
