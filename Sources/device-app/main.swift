import Meerkat

var uptime = 0          // seconds, counted by a timer
var failedReplies = 0   // replies that could not be queued

/// The board's status: what /api/status serves and --report sends.
func status() -> String {
    "{\"uptime\": \(uptime), \"failedReplies\": \(failedReplies)}\n"
}

// --listen, --max-connections, --buffers, timeouts, --poll, --report; sizes from the board profile.
let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000")

let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    guard case .httpMessage(let hm) = ev else { return }
    do throws(ConnectionError) {
        if hm.uri == "/api/status" {
            try conn.reply(200, status(), headers: ["Content-Type": "application/json"])
        } else if hm.uri == "/hello" {
            let name = hm.queryVar("name") ?? "board"
            try conn.reply(200, "Hello, \(name)!\n", headers: ["Content-Type": "text/plain"])
        } else {
            try conn.reply(404, "Not Found\n")
        }
    } catch {
        // .sendBufferFull: a copied body larger than a send block (StaticString,
        // [UInt8] and hm.body go out at any size); .closed: the client left. Either
        // way the library answers 500 if it can and closes; here we only count it.
        failedReplies += 1
    }
}
manager.timerAdd(1000, repeat: true) { uptime += 1 }
options.listenAll(manager)

// --report ws://server/path: keep a WebSocket to a server, reconnecting with backoff
// while it is away, and send it the status every --report-ms (5 s). Reports due
// while it is down are skipped, not queued.
if let url = options.report {
    let reporter = Reconnector(manager, url: url, handler: { _, _ in }, onState: { up in
        print(up ? "report: up" : "report: down")
    })
    manager.timerAdd(options.reportMs, repeat: true) {
        try? reporter.connection?.wsSend(status())
    }
}
manager.run()
