import Meerkat

/// Who may use the board. One account, "admin", whose password is kept only as a
/// PBKDF2 record (`PasswordRecord`, `<dir>/password`, mode 0600). Until it exists the
/// board is in setup: only the setup page and its assets are served and the first
/// visitor sets the password (or `--password-file` provisions it at start). After that
/// every /api/* and /ws/live needs a session from the library's table (a cookie
/// `HttpOnly; SameSite=Strict`), logins are throttled per address, and writes (settings,
/// uploads) must also show they come from the dashboard itself.
struct Access {
    let recordPath: String
    var record: PasswordRecord?
    /// The record file is there but unreadable or not a record: the board stays locked
    /// (503) rather than reopening setup to whoever comes first, until the owner
    /// provisions the password again with --password-file.
    var damaged = false

    static let user = "admin"
    static let passwords = 8...128  // bytes
    /// What a browser may load before the password is set.
    static let setupFiles = ["/setup.html", "/auth.js", "/style.css", "/favicon.svg"]

    init(dir: String) {
        recordPath = dir + "/password"
        switch PasswordRecord.stored(at: recordPath) {
        case .missing: record = nil
        case .damaged: damaged = true
        case let .record(r): record = r
        }
    }

    var needsSetup: Bool { record == nil && !damaged }
    static let damagedAnswer = "the password file is damaged: provision the password again with --password-file"

    /// --password-file PATH: the file holds either a record (`pbkdf2-sha256$…`, made
    /// elsewhere) or the password itself on its first line, hashed here. Either way only
    /// the record is kept; false when the file cannot be read or the password is too
    /// short or long.
    mutating func provision(from path: String, _ manager: Manager) -> Bool {
        guard let bytes = try? File.contents(path, limit: 4096) else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        if let made = PasswordRecord(text: text) {
            record = made
        } else {
            let password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            guard Access.passwords.contains(password.utf8.count),
                let made = PasswordRecord(password: password, iterations: UInt32(manager.limits.passwordIterations), manager: manager)
            else { return false }
            record = made
        }
        guard (try? record!.save(to: recordPath)) != nil else { return false }
        damaged = false
        return true
    }

    /// The routes anyone may call: POST /api/setup (in setup only), /api/login and
    /// /api/logout. True when `hm` was one of them (and is answered).
    mutating func answerPublic(_ conn: Connection, _ hm: HttpMessage, _ manager: Manager) throws(ConnectionError) -> Bool {
        guard hm.method == "POST" else { return false }
        if hm.uri == "/api/setup" {
            try setup(conn, hm, manager)
        } else if hm.uri == "/api/login" {
            try login(conn, hm, manager)
        } else if hm.uri == "/api/logout" {
            _ = manager.sessionEnd(for: hm)
            try conn.reply(
                200, "{\"loggedIn\": false}\n", headers: ["Set-Cookie": manager.sessionCookieHeader(nil, for: conn), "Content-Type": "application/json"])
        } else {
            return false
        }
        return true
    }

    /// Whether `hm` may go on to a private route; when not, it is answered: 403 in setup,
    /// 401 without a session, 403 for a write that does not show it is same-origin.
    func allows(_ conn: Connection, _ hm: HttpMessage, _ manager: Manager, write: Bool = false) throws(ConnectionError) -> Bool {
        if damaged {
            try Access.refuse(conn, 503, Access.damagedAnswer)
            return false
        }
        if needsSetup {
            try Access.refuse(conn, 403, "the board is not set up: set the admin password at /setup.html")
            return false
        }
        guard manager.session(for: hm) != nil else {
            try Access.refuse(conn, 401, "log in first: /login.html")
            return false
        }
        if write && !Access.sameOrigin(hm) {
            try Access.refuse(conn, 403, "send Origin (the dashboard's own) or Sec-Fetch-Site: same-origin")
            return false
        }
        return true
    }

    /// A write from the dashboard's own page: the library has already refused an
    /// `Origin` or `Sec-Fetch-Site` that names another origin (manager.originPolicy), so
    /// one of them being present and same-origin is what is asked for here. A request
    /// with neither (a script, another device) cannot show where it comes from.
    static func sameOrigin(_ hm: HttpMessage) -> Bool {
        hm.header("Origin") != nil || hm.header("Sec-Fetch-Site") == "same-origin"
    }

    /// The password a setup or login request carries: JSON `{"password": …}`, or a form
    /// field only from the dashboard's own page (a cross-site form cannot send JSON
    /// without a preflight this board never answers).
    static func password(_ hm: HttpMessage) -> String? {
        if Access.isJSON(hm) { return Json.string(hm.body, "password") }
        return Access.sameOrigin(hm) ? hm.formVar("password") : nil
    }

    static func isJSON(_ hm: HttpMessage) -> Bool {
        guard let type = hm.header("Content-Type") else { return false }
        let plain = type.slice(0, type.firstIndex(of: UInt8(ascii: ";")) ?? type.count).trimmingSpaces()
        return plain.equalsIgnoringCase("application/json")
    }

    /// POST /api/setup: the first password, from the board's own page only. The caller
    /// is logged in at once.
    private mutating func setup(_ conn: Connection, _ hm: HttpMessage, _ manager: Manager) throws(ConnectionError) {
        if damaged { return try Access.refuse(conn, 503, Access.damagedAnswer) }
        guard needsSetup else { return try Access.refuse(conn, 403, "the password is already set: log in") }
        guard Access.sameOrigin(hm) else {
            return try Access.refuse(conn, 403, "set the password from the board's own setup page")
        }
        guard let password = Access.password(hm), Access.passwords.contains(password.utf8.count) else {
            return try Access.refuse(conn, 400, "a password of 8 to 128 bytes")
        }
        guard let made = PasswordRecord(password: password, iterations: UInt32(manager.limits.passwordIterations), manager: manager),
            (try? made.save(to: recordPath)) != nil
        else { return try Access.refuse(conn, 500, "cannot store the password") }
        record = made
        try startSession(conn, manager)
    }

    /// POST /api/login: throttled per address before the password is even hashed.
    private func login(_ conn: Connection, _ hm: HttpMessage, _ manager: Manager) throws(ConnectionError) {
        if damaged { return try Access.refuse(conn, 503, Access.damagedAnswer) }
        guard let record else { return try Access.refuse(conn, 403, "the board is not set up: /setup.html") }
        let wait = manager.loginRetryAfter(conn)
        if wait > 0 { return try conn.replyTooManyLogins(retryAfter: wait) }
        guard let password = Access.password(hm) else {
            return try Access.refuse(conn, 400, "send {\"password\": …} as JSON")
        }
        guard record.verify(password) else {
            manager.loginFailed(conn)
            return try Access.refuse(conn, 401, "wrong password")
        }
        manager.loginSucceeded(conn)
        try startSession(conn, manager)
    }

    private func startSession(_ conn: Connection, _ manager: Manager) throws(ConnectionError) {
        guard let token = manager.sessionStart(user: Access.user) else { return try Access.refuse(conn, 500, "no session") }
        try conn.reply(
            200, "{\"user\": \"admin\"}\n",
            headers: ["Set-Cookie": manager.sessionCookieHeader(token, for: conn), "Content-Type": "application/json"])
    }

    static func refuse(_ conn: Connection, _ status: Int, _ why: String) throws(ConnectionError) {
        try conn.replyError(status, jsonAnswer { $0.add("error", why) }, headers: jsonHeaders)
    }
}
