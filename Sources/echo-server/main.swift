// echo-server: the guide's mixed HTTP/WebSocket server. GET / serves a page whose script
// opens ws://<host>/ws, sends "Hello!" and shows the echo; /ws answers each message with
// "Echo: <text>"; any other path that asks to upgrade gets a plain echo of every message
// (same opcode, any size, relayed piece by piece), except the two chat rooms /ws/room/a
// and /ws/room/b: a message sent on a room's socket goes to every socket of that room
// (the sender's too) and to none of the other's (broadcast groups). GET /stats shows the pools' figures;
// GET /events (or /events/<name>) opens a server-sent event stream with one event, then
// the library's heartbeats; POST /events sends its body as an event to every stream, and
// POST /events/<name> to the streams opened on that path (sseBroadcast), answering
// {"reached": N, "skipped": M}; GET /auth is the HTTP auth demo (auth below); POST /login,
// GET /private and POST /logout are the login-session demo (login below); every other request is answered 200 with its body
// echoed back (sent from the receive buffer, so any body that fits it comes back). With
// --client-ca FILE, TLS clients must show a certificate that CA signed, and each
// handshake prints "tls: alpn …; peer CN …, DNS …, sha256 …" (conn.tlsPeer). The
// app the tests and benchmarks drive.
import Meerkat
import MeerkatApp

let page: StaticString = """
    <!doctype html>
    <html><head><meta charset="utf-8"><title>Meerkat</title></head>
    <body><h1>Meerkat</h1><p>This board is serving HTTP. POST anything to any other path and it comes back.</p>
    <p>WebSocket: <span id="echo">connecting</span></p>
    <script>
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    ws.onmessage = e => { console.log(e.data); document.getElementById('echo').textContent = e.data; };
    ws.onopen = () => ws.send('Hello!');
    </script>
    </body></html>

    """

/// Marks connections upgraded on a path other than /ws: they echo messages as they are.
final class PlainEcho {}
let plainEcho = PlainEcho()

/// The page's header, made once: a literal at the call may be heap-allocated on every
/// reply, depending on what the optimiser makes of the whole handler (it was, once the
/// handler grew the rooms: one allocation per GET /).
let pageHeaders: KeyValuePairs<String, String> = ["Content-Type": "text/html; charset=utf-8"]

/// The broadcast group of a room's upgrade URI (`conn.wsGroup`), 0 for any other path.
func room(_ uri: ByteView) -> UInt8 {
    uri == "/ws/room/a" ? 1 : uri == "/ws/room/b" ? 2 : 0
}

/// Where the answer to a broadcast is written (no allocation per broadcast).
let answer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)

/// /events[/NAME]: a GET opens a stream; a POST sends its body to every stream (/events)
/// or to those opened on its path, and answers how many it reached.
func events(_ conn: Connection, _ hm: HttpMessage) throws(ConnectionError) {
    guard hm.method == "POST" else { return try conn.httpSSE(event: "hello", data: "1") }
    let (reached, skipped) =
        hm.uri == "/events" ? manager.sseBroadcast(data: hm.body) : manager.sseBroadcast(data: hm.body, uri: hm.uri)
    var json = JsonWriter(into: answer)
    json.add("reached", reached)
    json.add("skipped", skipped)
    try conn.reply(200, json.finish() ?? .empty, headers: ["Content-Type": "application/json"])
}

/// The demo's credentials: Basic `meerkat:s3cret`, or the token `t0k3n-demo` as Bearer,
/// as the cookie `token` or as `?access_token=`. Demo values only: a real app keeps a
/// PBKDF2 record of its password (`PasswordRecord`) and random session tokens
/// (`manager.sessionStart`, the login demo below).
let demoUser: StaticString = "meerkat", demoPassword: StaticString = "s3cret", demoToken: StaticString = "t0k3n-demo"

/// /auth: 200 saying which credentials were accepted, else 401 with a Basic challenge
/// (wrong, missing or unreadable credentials alike). Allocates nothing when accepted.
func auth(_ conn: Connection, _ hm: HttpMessage) throws(ConnectionError) {
    let accepted: StaticString? = hm.withCredentials(cookie: "token") { c in
        switch c {
        case let .basic(user, password):
            let ok = Crypto.constantTimeEquals(user, demoUser) && Crypto.constantTimeEquals(password, demoPassword)
            return ok ? "hello meerkat (basic)\n" : nil
        case let .bearer(t): return Crypto.constantTimeEquals(t, demoToken) ? "hello (bearer)\n" : nil
        case let .cookie(t): return Crypto.constantTimeEquals(t, demoToken) ? "hello (cookie)\n" : nil
        case let .accessToken(t): return Crypto.constantTimeEquals(t, demoToken) ? "hello (access_token)\n" : nil
        case .none, .invalid: return nil
        }
    }
    if let accepted { try conn.reply(200, accepted) } else { try conn.replyAuthRequired(realm: "echo-server") }
}

/// The login demo's password record: `meerkat` / `s3cret` hashed with the board's PBKDF2
/// count at start (a real app loads its record from a file: `PasswordRecord.load`).
var demoRecord: PasswordRecord? = nil

/// POST /login (form `user`, `password`): 200 and a session cookie, 401 when wrong, 429
/// with Retry-After while the client's address is throttled. GET /private: the
/// session's user, or 401. POST /logout: ends the session and clears the cookie.
func login(_ conn: Connection, _ hm: HttpMessage) throws(ConnectionError) {
    if hm.uri == "/login" {
        let wait = manager.loginRetryAfter(conn)
        if wait > 0 { return try conn.replyTooManyLogins(retryAfter: wait) }
        let user = hm.formVar("user") ?? ""
        let password = hm.formVar("password") ?? ""
        let ok = demoRecord?.verify(password) == true && Crypto.constantTimeEquals(user, demoUser)
        guard ok, let token = manager.sessionStart(user: user) else {
            manager.loginFailed(conn)
            return try conn.replyError(401, "Wrong user or password\n")
        }
        manager.loginSucceeded(conn)
        try conn.reply(200, "logged in\n", headers: ["Set-Cookie": manager.sessionCookieHeader(token, for: conn)])
    } else if hm.uri == "/logout" {
        manager.sessionEnd(for: hm)
        try conn.reply(200, "logged out\n", headers: ["Set-Cookie": manager.sessionCookieHeader(nil, for: conn)])
    } else {
        guard let session = manager.session(for: hm) else { return try conn.replyError(401, "Log in first\n") }
        try conn.reply(200, session.user)
    }
}

let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000")
let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, event in
    do throws(ConnectionError) {
        switch event {
        case .tlsHandshake where options.clientCA != nil:
            // Clients must show a certificate (--client-ca): say who each one is.
            print(AppOptions.tlsLine(conn))
            AppOptions.flushOutput()
        case let .httpMessage(hm):
            if hm.header("Upgrade") != nil {
                if conn.wsUpgrade(hm) && hm.uri != "/ws" && room(hm.uri) == 0 { conn.userdata = plainEcho }
            } else if hm.uri == "/" && (hm.method == "GET" || hm.method == "HEAD") {
                try conn.reply(200, page, headers: pageHeaders)
            } else if hm.uri == "/events" || hm.uri.hasPrefix("/events/") {
                try events(conn, hm)
            } else if hm.uri == "/auth" {
                try auth(conn, hm)
            } else if (hm.uri == "/login" || hm.uri == "/logout") && hm.method == "POST" || hm.uri == "/private" {
                try login(conn, hm)
            } else if hm.uri == "/stats" && hm.method == "GET" {
                let s = manager.stats
                try conn.reply(
                    200,
                    "recv \(s.receive.free)/\(s.receive.blocks) lowest \(s.receive.lowestFree); "
                        + "send \(s.send.free)/\(s.send.blocks) lowest \(s.send.lowestFree); "
                        + "evictions \(s.evictions); connections \(s.connections); "
                        + "tls \(s.tlsSessions.free)/\(s.tlsSessions.blocks) lowest \(s.tlsSessions.lowestFree); "
                        + "handshakes \(s.tlsHandshakes); resumed \(s.tlsResumed); "
                        + "tls pairs \(s.tlsPairs.free)/\(s.tlsPairs.blocks) lowest \(s.tlsPairs.lowestFree); "
                        + "parks \(s.tlsParks); unparks \(s.tlsUnparks)\n")
            } else {
                try conn.reply(200, hm.body)
            }
        case let .wsOpen(hm):
            conn.wsGroup = room(hm.uri)
            if conn.userdata != nil { conn.wsStreamMessages() }
        case let .wsMessage(wm):
            if conn.wsGroup != 0 {
                manager.wsBroadcast(wm.data, wm.opcode, group: conn.wsGroup)
            } else if conn.userdata != nil {
                try conn.wsSendFragment(wm.data, opcode: wm.opcode, first: wm.isFirst, last: wm.isLast)
            } else {
                try conn.wsSend("Echo: \(wm.text)", WEBSOCKET_OP_TEXT)
            }
        default:
            break
        }
    } catch {
        // Back-pressure or a closed peer: the client sees the connection end.
        conn.close()
    }
}
demoRecord = PasswordRecord(
    password: demoPassword, iterations: UInt32(manager.limits.passwordIterations),
    manager: manager)
options.listenAll(manager)
manager.run()
manager.close()
