/// Throttling password guesses (see `LoginThrottle`). Call `loginAllowed` before
/// checking a password, and answer a refusal at once with `replyTooManyLogins`: the
/// delay is the client's to wait (429 with `Retry-After`), the loop never sleeps. Then
/// report the outcome with `loginFailed` or `loginSucceeded`.
///
///     let wait = manager.loginRetryAfter(conn)
///     if wait > 0 { try conn.replyTooManyLogins(retryAfter: wait); return }
///     if PasswordRecord.verify(password, record) {
///         manager.loginSucceeded(conn) …
///     } else {
///         manager.loginFailed(conn); try conn.replyAuthRequired(realm: "device") …
///     }
extension Manager {
    /// Seconds `conn`'s address must wait before its next login is checked; 0 when it
    /// may try now. Also refuses everyone for the rest of the second once
    /// `Limits.loginFailuresPerSecond` failures have been counted in it.
    public func loginRetryAfter(_ conn: Connection) -> Int {
        guard let a = conn.remoteAddress else { return 0 }
        return loginRetryAfter(a)
    }

    public func loginRetryAfter(_ address: SocketAddress) -> Int {
        services.loginThrottle.retryAfter(address, now: now, globalCap: max(limits.loginFailuresPerSecond, 1))
    }

    /// Whether a login from `conn` may be checked now.
    public func loginAllowed(_ conn: Connection) -> Bool { loginRetryAfter(conn) == 0 }

    /// Counts a failed login from `conn`; the seconds it must now wait (0: none yet).
    @discardableResult
    public func loginFailed(_ conn: Connection) -> Int {
        guard let a = conn.remoteAddress else { return 0 }
        return loginFailed(a)
    }

    @discardableResult
    public func loginFailed(_ address: SocketAddress) -> Int {
        // The clock now, not the loop's wake-up: checking the password took real time
        // (a PBKDF2 of 100-250 ms, longer under load), and the delay starts after it.
        services.loginThrottle.failed(address, now: clockMs())
    }

    /// `conn` logged in: its address's failures are forgotten.
    public func loginSucceeded(_ conn: Connection) {
        if let a = conn.remoteAddress { loginSucceeded(a) }
    }

    public func loginSucceeded(_ address: SocketAddress) { services.loginThrottle.succeeded(address) }

    /// Failed logins counted for `address`.
    public func loginFailures(_ address: SocketAddress) -> Int { Int(services.loginThrottle.failures(address)) }
}

extension Connection {
    /// Answers 429 Too Many Requests with `Retry-After: <seconds>` (RFC 6585 §4).
    public func replyTooManyLogins(retryAfter seconds: Int) throws(ConnectionError) {
        try replyError(429, "Too many failed logins; try again later\n", headers: ["Retry-After": String(max(seconds, 1))])
    }
}
