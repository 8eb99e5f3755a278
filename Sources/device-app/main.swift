import Meerkat

var uptime = 0   // seconds, counted by a timer

let manager = Manager { conn, ev in
    guard case .httpMessage(let hm) = ev else { return }
    if hm.uri == "/api/status" {
        try? conn.reply(200, "{\"uptime\": \(uptime)}\n", headers: ["Content-Type": "application/json"])
    } else if hm.uri == "/hello" {
        let name = hm.queryVar("name") ?? "board"
        try? conn.reply(200, "Hello, \(name)!\n", headers: ["Content-Type": "text/plain"])
    } else {
        try? conn.reply(404, "Not Found\n")
    }
}
manager.timerAdd(1000, repeat: true) { uptime += 1 }
AppOptions.parse(defaultListen: "http://0.0.0.0:8000").listenAll(manager)
manager.run()
