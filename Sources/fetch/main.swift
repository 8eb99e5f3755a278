// fetch: a small HTTP client for the board, like a minimal curl. Prints the status line
// ("status 200"), then the body. GET by default; --method M, --data TEXT (sent as the
// body), --header "Name: value" (repeatable). For https://: --ca FILE trusts that CA
// (the system's CAs otherwise), --insecure skips the check. --timeout-ms N bounds the
// name lookup, the connect, and each answer, whole: from the request to the last byte of
// the body, streamed or not (a total, as curl's --max-time, not an idle timeout: a server
// that drips the body still ends in time). --dns udp://IP:PORT asks that
// nameserver (resolv.conf's otherwise); --ipv6-first asks for AAAA before A. Exits 0 on
// a 2xx, 3 on another status, 1 on an error ("error: …"). --repeat N sends the request
// N times on one keep-alive connection, each after the answer to the one before, and
// prints the last answer; with --new-connections each on a connection of its own, made
// once the one before closed (over TLS it resumes the session of the one before: a
// ticket instead of a full handshake). --stream writes the body out as it arrives (any size; without
// it the response must fit the receive block; a large download over a slow link wants a
// larger --timeout-ms). --sntp asks the SNTP server at the URL (udp://HOST[:123])
// for the time instead, and prints "time MS" (Unix time in ms). --user USER:PASS sends
// Basic credentials (as curl -u), --bearer TOKEN a Bearer token. --starttls takes an
// http:// URL, connects in the clear, then starts TLS on the open connection
// (`conn.tlsInit` on a client: the TLS client STARTTLS or a proxy's CONNECT needs) and
// sends the request once the handshake is done; --ca/--insecure apply. At
// --log-level debug, --sntp also says which transport the answer came over (`isUDP`),
// and it prints "clock MS system MS" after the time: the manager's clock, synced by the
// answer, and the system's. --time udp://HOST[:PORT] asks that SNTP server while
// fetching (each answer syncs the clock TLS checks certificate dates with; logged at
// info); --defer-ms N makes an https:// request wait for that answer before its
// handshake (`TlsTimePolicy.deferUntilSynced`), at most N ms.
//
//   fetch http://127.0.0.1:8000/stats
//   fetch --ca build/tls/server.crt --method POST --data hi https://localhost:8443/echo
//   fetch --sntp udp://pool.ntp.org
//   fetch --starttls --ca build/tls/ca.crt http://localhost:4433/
import Meerkat
import MeerkatApp

/// The command line, parsed in a function: top-level code that assigns a global `String?`
/// in a `while let … popFirst()` loop is miscompiled for aarch64 at -Osize (README,
/// "Writing code that builds as firmware").
struct Options {
    var url: String? = nil
    var method: String? = nil
    var data: String? = nil
    var caFile: String? = nil
    var insecure = false
    var timeoutMs = 10_000
    var repeatCount = 1
    var dnsServer: String? = nil
    var ipv6First = false
    var stream = false
    var sntp = false
    var starttls = false
    var timeURL: String? = nil
    var deferMs = 0
    var newConnections = false
    var auth: HttpAuth? = nil
    var badAuth = false
}

let usageLine =
    "usage: fetch [--log-level error|info|debug|verbose|none] [--method M] [--data TEXT] [--ca FILE] [--insecure] [--timeout-ms N] [--repeat N [--new-connections]] [--dns udp://IP:PORT] [--ipv6-first] [--stream] [--starttls] [--time udp://HOST[:PORT]] [--defer-ms N] [--user USER:PASS | --bearer TOKEN] http(s)://HOST:PORT/PATH | fetch --sntp udp://HOST[:PORT]"

func parseOptions() -> Options {
    var o = Options()
    var args = AppOptions.arguments(usage: usageLine)[...]
    while let arg = args.popFirst() {
        switch arg {
        case "--method": o.method = args.popFirst()
        case "--data": o.data = args.popFirst()
        case "--ca": o.caFile = args.popFirst()
        case "--insecure": o.insecure = true
        case "--timeout-ms": o.timeoutMs = args.popFirst().flatMap { Int($0) } ?? -1
        case "--repeat": o.repeatCount = args.popFirst().flatMap { Int($0) } ?? -1
        case "--dns": o.dnsServer = args.popFirst()
        case "--ipv6-first": o.ipv6First = true
        case "--stream": o.stream = true
        case "--sntp": o.sntp = true
        case "--starttls": o.starttls = true
        case "--time": o.timeURL = args.popFirst()
        case "--defer-ms": o.deferMs = args.popFirst().flatMap { Int($0) } ?? -1
        case "--new-connections": o.newConnections = true
        case "--user":
            let pair = args.popFirst() ?? ""
            if let colon = pair.utf8.firstIndex(of: UInt8(ascii: ":")) {
                o.auth = .basic(user: String(pair[..<colon]), password: String(pair[pair.index(after: colon)...]))
            } else {
                o.badAuth = true
            }
        case "--bearer": o.auth = args.popFirst().map { .bearer($0) }
        default: o.url = arg.hasPrefix("-") ? nil : arg
        }
    }
    return o
}

let options = parseOptions()
let method = options.method ?? "GET"
let data = options.data ?? ""
let caFile = options.caFile
let insecure = options.insecure
let timeoutMs = options.timeoutMs
let repeatCount = options.repeatCount
guard let url = options.url, !method.isEmpty, timeoutMs > 0, repeatCount > 0, !options.badAuth, options.deferMs >= 0,
    !options.starttls || url.hasPrefix("http://")
else {
    print(usageLine)
    AppOptions.exitProcess(2)
}
let target = EndpointURL(url)?.path ?? "/"

var limits = Limits.board
limits.connectTimeoutMs = timeoutMs
limits.headerTimeoutMs = timeoutMs
limits.dnsTimeoutMs = max(1, timeoutMs / limits.dnsTries)
let manager = Manager(limits: limits)
manager.dnsServer = options.dnsServer
manager.dnsPreferIPv6 = options.ipv6First
var code: Int32 = 1

/// --sntp: one SNTP answer (the library asks again, then gives up, by itself).
func askTime() -> Never {
    do throws(ConnectError) {
        try manager.sntpConnect(url) { conn, ev in
            switch ev {
            case let .sntpTime(ms):
                Log.debug(conn.isUDP ? "fetch: the answer came over UDP" : "fetch: the answer came over TCP")
                print("time \(ms)")
                print("clock \(manager.timeMs) system \(Manager.wallClockMs)")
                code = 0
                conn.close()
            case let .error(why): print("error: \(why)")
            case .close: manager.stop()
            default: break
            }
        }
    } catch {
        print("error: cannot ask \(url): \(error)")
        AppOptions.exitProcess(1)
    }
    manager.run()
    AppOptions.exitProcess(code)
}
if options.sntp { askTime() }

var answered = 0
/// The answer's deadline while its body streams. The library bounds the wait for the
/// head (and a whole body it holds) by `headerTimeoutMs`, but once the app takes the
/// body in pieces the pace is the app's: this timer, started with the request, ends a
/// streamed body that is not complete `timeoutMs` after the request went out.
var deadline: Timer? = nil
var streaming = false

/// Sends the request (again).
func sendRequest(_ conn: Connection) {
    deadline?.cancel()
    if options.stream {
        deadline = manager.timerAdd(timeoutMs) {
            // Before the head the library's own timeout (the same one) answers.
            guard streaming else { return }
            print("error: the response was not complete in time")
            conn.close()
        }
    }
    do throws(ConnectionError) {
        if data.isEmpty && method != "POST" && method != "PUT" {
            try conn.httpRequest(method, target, auth: options.auth)
        } else {
            try conn.httpRequest(method, target, auth: options.auth, body: data)
        }
    } catch {
        print("error: cannot send the request")
        conn.close()
    }
}

let tls = AppOptions.clientTls(caFile: caFile, insecure: insecure)
if options.deferMs > 0 {
    manager.tlsTimePolicy = .deferUntilSynced(timeoutMs: options.deferMs)
}

/// --time: the clock's SNTP server, asked alongside the request.
if let timeURL = options.timeURL {
    do throws(ConnectError) {
        try manager.sntpConnect(timeURL) { _, ev in
            switch ev {
            case let .sntpTime(ms): Log.info("fetch: the time from SNTP, ms ", ms)
            case .error: Log.error("fetch: the SNTP server did not answer")
            default: break
            }
        }
    } catch {
        print("error: cannot ask \(timeURL): \(error)")
        AppOptions.exitProcess(1)
    }
}

/// --new-connections: the answer is in and the next request goes on a new connection,
/// made when this one has closed.
var reconnectDue = false

func onEvent(_ conn: Connection, _ ev: Event) {
    switch ev {
    case .connect:
        // --starttls: in the clear so far; TLS starts on this connection (a failure is
        // an .error and the close), and the request waits for the handshake.
        if options.starttls { conn.tlsInit(tls ?? TlsOpts()) } else { sendRequest(conn) }
    case .tlsHandshake:
        if Log.enabled(.debug) {
            print(AppOptions.tlsLine(conn))
            AppOptions.flushOutput()
        }
        if options.starttls { sendRequest(conn) }
    case let .httpHeaders(hm) where options.stream && answered + 1 == repeatCount:
        conn.streamResponseBody()
        streaming = true
        print("status \(hm.status)")
        AppOptions.flushOutput()
    case let .httpBody(piece):
        do throws(FileError) {
            try File.standardOutput.write(piece)
        } catch {
            conn.close()
        }
    case let .httpMessage(hm):
        deadline?.cancel()
        streaming = false
        answered += 1
        if answered < repeatCount && options.newConnections {
            reconnectDue = true
            conn.close()
            return
        }
        if answered < repeatCount && hm.keepAlive {
            sendRequest(conn)
            return
        }
        if answered < repeatCount { print("error: the server closed after \(answered) answers") }
        if !options.stream {
            print("status \(hm.status)")
            print(hm.body.string, terminator: "")
        }
        code = (200..<300).contains(hm.status) ? 0 : 3
        if answered < repeatCount { code = 1 }
        conn.close()
    case let .error(why):
        print(AppOptions.errorLine(why, conn))
    case .close:
        if reconnectDue {
            reconnectDue = false
            connectOnce()
        } else {
            manager.stop()
        }
    default:
        break
    }
}

/// Connects to the URL (again, for --new-connections); exits when it cannot.
func connectOnce() {
    do throws(ConnectError) {
        try manager.connect(url, tls: options.starttls ? nil : tls, handler: onEvent)
    } catch {
        print("error: cannot connect to \(url): \(error)")
        AppOptions.exitProcess(1)
    }
}

connectOnce()
manager.run()
AppOptions.exitProcess(code)
