/// A login session, as `Manager.session(for:)` finds it. `user` is a view into the
/// session table: read it before the session is ended or its entry reused.
public struct SessionInfo {
    /// The table entry (stable while the session lives).
    public let index: Int
    public let user: ByteView
    /// When the session was made and last used (the loop's clock, ms).
    public let created: Int64
    public let lastUsed: Int64
}

extension Manager {
    /// The cookie that carries the session token, unless the app names another.
    public static let sessionCookie: StaticString = "session"

    /// Starts a session for `user` and returns its token (base64url of 32 random bytes
    /// from the DRBG), to send in `sessionCookieHeader`. When the table is full the oldest
    /// session goes. Nil when `user` is empty, longer than 32 bytes or has control bytes,
    /// when `Limits.authSessions` is 0, or without an entropy source.
    public func sessionStart(user: String) -> String? {
        let table = services.sessions
        guard !user.isEmpty, user.utf8.count <= SessionTable.maxUserBytes,
            user.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }),
            let i = table.place(now: now, idleMs: sessionIdleMs, maxMs: sessionMaxMs)
        else { return nil }
        var raw = [UInt8](repeating: 0, count: SessionTable.tokenBytes)
        defer { raw.withUnsafeMutableBytes { Crypto.wipe($0) } }
        guard raw.withUnsafeMutableBytes({ random(into: $0) }) else { return nil }
        raw.withUnsafeBytes { t in user.withBytes { u in table.set(i, token: t, user: u, now: now) } }
        return Base64.encode(raw, alphabet: .url)
    }

    /// The live session whose token the request's cookie `cookie` holds; nil when there
    /// is none, the token is not one of ours, or the session passed its idle
    /// (`Limits.authSessionIdleS`) or absolute (`Limits.authSessionMaxS`) lifetime (then
    /// it is ended). A found session counts as used now. Allocates nothing.
    public func session(for hm: HttpMessage, cookie: StaticString = Manager.sessionCookie) -> SessionInfo? {
        guard let i = sessionIndex(hm, cookie) else { return nil }
        let table = services.sessions
        if table.expired(i, now: now, idleMs: sessionIdleMs, maxMs: sessionMaxMs) {
            table.clear(i)
            return nil
        }
        table.touch(i, now: now)
        let e = table.entry(i)
        return SessionInfo(index: i, user: table.user(i), created: e.created, lastUsed: e.lastUsed)
    }

    /// Ends (logs out) the session the request's cookie names; false when it names none.
    /// Answer with `sessionCookieHeader(nil, …)` so the browser drops the cookie too.
    @discardableResult
    public func sessionEnd(for hm: HttpMessage, cookie: StaticString = Manager.sessionCookie) -> Bool {
        guard let i = sessionIndex(hm, cookie) else { return false }
        services.sessions.clear(i)
        return true
    }

    /// Ends every session of `user` (after a password change); how many were ended.
    @discardableResult
    public func sessionsEnd(user: String) -> Int {
        let table = services.sessions
        var ended = 0
        for i in 0..<table.capacity where table.entry(i).inUse {
            if user.withBytes({ table.user(i).equals($0) }) {
                table.clear(i)
                ended += 1
            }
        }
        return ended
    }

    /// The `Set-Cookie` value for `token`: `session=<token>; HttpOnly; SameSite=Strict;
    /// Path=/; Max-Age=<absolute lifetime>`, plus `; Secure` when `conn` is TLS (a
    /// browser then never sends it in clear). A nil token writes an expired, empty
    /// cookie, which makes the browser forget it (logout).
    public func sessionCookieHeader(
        _ token: String?, for conn: Connection, cookie: StaticString = Manager.sessionCookie
    ) -> String {
        Manager.sessionCookieHeader(token, secure: conn.isTLS, maxAgeS: token == nil ? 0 : limits.authSessionMaxS, cookie: cookie)
    }

    /// The same, with `Secure` and Max-Age given.
    public static func sessionCookieHeader(
        _ token: String?, secure: Bool, maxAgeS: Int, cookie: StaticString = Manager.sessionCookie
    ) -> String {
        var v = String(decoding: cookie.rawBuffer, as: UTF8.self) + "=" + (token ?? "")
        v += "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + String(max(maxAgeS, 0))
        if secure { v += "; Secure" }
        return v
    }

    private var sessionIdleMs: Int64 { Int64(limits.authSessionIdleS) * 1000 }
    private var sessionMaxMs: Int64 { Int64(limits.authSessionMaxS) * 1000 }

    /// The entry the request's cookie token names (its SHA-256 looked up), if any.
    private func sessionIndex(_ hm: HttpMessage, _ cookie: StaticString) -> Int? {
        guard let value = hm.cookieValue(cookie), value.count == SessionTable.tokenChars else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: SessionTable.tokenBytes + Sha256.digestCount, alignment: 8) {
            scratch -> Int? in
            let raw = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<SessionTable.tokenBytes])
            let digest = UnsafeMutableRawBufferPointer(rebasing: scratch[SessionTable.tokenBytes...])
            guard Base64.decode(value.buffer, into: raw, alphabet: .url) == SessionTable.tokenBytes else { return nil }
            Sha256.hash(UnsafeRawBufferPointer(raw), into: digest)
            return services.sessions.find(digest: UnsafeRawBufferPointer(digest))
        }
    }
}
