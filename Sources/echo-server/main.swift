// echo-server: a small HTML page at GET /, the pools' figures at GET /stats, and every
// other request answered 200 with its body echoed back (sent from the receive buffer,
// so any body that fits it comes back). The app the integration suite and benchmarks drive.
import Meerkat

let page: StaticString = """
<!doctype html>
<html><head><meta charset="utf-8"><title>Meerkat</title></head>
<body><h1>Meerkat</h1><p>This board is serving HTTP. POST anything to any other path and it comes back.</p></body>
</html>

"""

let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000")
let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, event in
    guard case let .httpMessage(hm) = event else { return }
    do throws(ConnectionError) {
        if hm.uri == "/" && (hm.method == "GET" || hm.method == "HEAD") {
            try conn.reply(200, page, headers: ["Content-Type": "text/html; charset=utf-8"])
        } else if hm.uri == "/stats" && hm.method == "GET" {
            let s = manager.stats
            try conn.reply(200, "recv \(s.receive.free)/\(s.receive.blocks) lowest \(s.receive.lowestFree); "
                + "send \(s.send.free)/\(s.send.blocks) lowest \(s.send.lowestFree); "
                + "evictions \(s.evictions); connections \(s.connections)\n")
        } else {
            try conn.reply(200, hm.body)
        }
    } catch {
        // Back-pressure or a closed peer: the client sees the connection end.
        conn.close()
    }
}
options.listenAll(manager)
manager.run()
manager.close()
