// chat-server: the guide's chat room, with its JSON protocol. GET / serves the chat page;
// /ws is the room. On connect everyone gets {"type": "join", "username": "User<N>",
// "count": N}; {"type": "message", "text": …} is broadcast with the username and a
// timestamp; {"type": "setname", "username": …} is broadcast as a rename; a leave is
// broadcast on close; anything else that is not valid JSON with those keys gets
// {"error": "Invalid message"}. Messages are built in one fixed 8 KB buffer; one that
// does not fit, escaped, is sent to no one and its sender gets {"error": "Message too
// long"}. With --mqtt URL
// [--room NAME] [--board NAME] the room is shared with every chat-server on that broker
// (FleetBridge.swift): other boards' events arrive tagged with "board", and counts are
// the fleet's. The room is open to everyone, but a browser page from another site may
// not join it (the library refuses a cross-origin upgrade with 403) unless its origin is
// given with --origin (repeated or comma-separated; `--origin '*'` allows any site).
import Meerkat
import MeerkatApp

let page: StaticString = """
    <!doctype html>
    <html><head><meta charset="utf-8"><title>Meerkat chat</title>
    <style>
    body { font-family: sans-serif; max-width: 40em; margin: 1em auto; }
    #log { border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }
    .note { color: #666; font-style: italic; }
    .error { color: #b00; }
    </style></head>
    <body>
    <h1>Meerkat chat</h1>
    <p>Name: <input id="name" size="16"> <button id="rename">Set name</button> <span id="count"></span></p>
    <div id="log"></div>
    <p><input id="text" size="40" placeholder="Say something"> <button id="send">Send</button></p>
    <script>
    const log = document.getElementById('log');
    function show(text, cls) {
      const p = document.createElement('div');
      if (cls) p.className = cls;
      p.textContent = text;
      log.appendChild(p);
      log.scrollTop = log.scrollHeight;
    }
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    ws.onopen = () => show('Connected', 'note');
    ws.onclose = () => show('Disconnected', 'note');
    ws.onmessage = e => {
      const m = JSON.parse(e.data);
      console.log(e.data);
      if (m.error) show(m.error, 'error');
      else if (m.type === 'join') { show(m.username + ' joined', 'note'); document.getElementById('count').textContent = m.count + ' here'; }
      else if (m.type === 'leave') { show(m.username + ' left', 'note'); document.getElementById('count').textContent = m.count + ' here'; }
      else if (m.type === 'rename') show(m.old + ' is now ' + m.new, 'note');
      else if (m.type === 'message') show(m.username + ': ' + m.text);
    };
    function send() {
      const t = document.getElementById('text');
      if (t.value) ws.send(JSON.stringify({type: 'message', text: t.value}));
      t.value = '';
    }
    document.getElementById('send').onclick = send;
    document.getElementById('text').onkeydown = e => { if (e.key === 'Enter') send(); };
    document.getElementById('rename').onclick = () => {
      const n = document.getElementById('name').value;
      if (n) ws.send(JSON.stringify({type: 'setname', username: n}));
    };
    </script>
    </body></html>

    """

final class User {
    var name: String
    init(name: String) { self.name = name }
}

var clients: [Connection] = []
let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 1)  // one message at a time

/// The guide's broadcast: send to every client (but `exclude`), dropping those closed.
func broadcast(_ message: ByteView?, exclude: Connection? = nil) {
    guard let message else { return }
    for client in clients where client != exclude {
        do throws(ConnectionError) {
            try client.wsSend(message, WEBSOCKET_OP_TEXT)
        } catch {
            if error == .closed { clients.removeAll { $0 == client } }
        }
    }
}

/// One room event: to every local user, and (with --mqtt) to the other boards. False,
/// and sent to no one, when its JSON does not fit the 8 KB buffer (text or names long
/// enough once escaped).
@discardableResult
func roomEvent(_ fill: (inout JsonWriter) -> Void) -> Bool {
    var json = JsonWriter(into: out)
    fill(&json)
    guard let event = json.finish() else { return false }
    broadcast(event)
    bridge?.publish(fill)
    return true
}

/// Users in the room: this board's, or with --mqtt the fleet's.
var roomCount: Int {
    bridge?.localCount = clients.count
    return bridge?.fleetCount ?? clients.count
}

func invalid(_ conn: Connection) {
    try? conn.wsSend("{\"error\": \"Invalid message\"}", WEBSOCKET_OP_TEXT)
}

/// The sender's answer when its event is too long to send on: nothing is dropped silently.
func tooLong(_ conn: Connection) {
    try? conn.wsSend("{\"error\": \"Message too long\"}", WEBSOCKET_OP_TEXT)
}

let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000", valued: ["--mqtt", "--room", "--board", "--origin"])
var bridge: FleetBridge? = nil
let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    switch ev {
    case let .httpMessage(hm):
        if hm.uri == "/ws" {
            guard conn.wsUpgrade(hm) else { return }
            clients.append(conn)
            let user = User(name: "User\(clients.count)")
            conn.userdata = user
            let count = roomCount
            roomEvent { json in
                json.add("type", "join")
                json.add("username", user.name)
                json.add("count", count)
            }
        } else if hm.uri == "/" {
            try? conn.reply(200, page, headers: ["Content-Type": "text/html; charset=utf-8"])
        } else {
            try? conn.replyError(404, "Not Found\n")
        }
    case let .wsMessage(wm):
        guard let user = conn.userdata(as: User.self) else { return }
        guard Json.isValid(wm.data), let type = Json.string(wm.data, "type") else { return invalid(conn) }
        if type == "message" {
            guard let text = Json.string(wm.data, "text") else { return invalid(conn) }
            let time = Double(Manager.wallClockMs) / 1000
            let sent = roomEvent { json in
                json.add("type", "message")
                json.add("username", user.name)
                json.add("text", text)
                json.add("timestamp", time, fractionDigits: 3)
            }
            if !sent { tooLong(conn) }
        } else if type == "setname" {
            guard let name = Json.string(wm.data, "username") else { return invalid(conn) }
            let old = user.name
            let sent = roomEvent { json in
                json.add("type", "rename")
                json.add("old", old)
                json.add("new", name)
            }
            // The name changes only when the room heard of it.
            if sent { user.name = name } else { tooLong(conn) }
        }
    case .close:
        guard clients.contains(conn) else { return }
        clients.removeAll { $0 == conn }
        let name = conn.userdata(as: User.self)?.name ?? "Unknown", count = roomCount
        roomEvent { json in
            json.add("type", "leave")
            json.add("username", name)
            json.add("count", count)
        }
    default:
        break
    }
}
manager.originPolicy.allowedOrigins = options.list(of: "--origin")
options.listenAll(manager)
if let url = options.value(of: "--mqtt") {
    bridge = FleetBridge(
        manager, url: url, room: options.value(of: "--room") ?? "lobby", board: options.value(of: "--board"),
        deliver: { event in broadcast(event) })
}
manager.run()
