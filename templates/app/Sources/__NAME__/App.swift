import Meerkat

/// The page at /: it opens the WebSocket, sends a line and shows what comes back.
let page: StaticString = """
<!doctype html>
<html><head><meta charset="utf-8"><title>__NAME__</title></head>
<body><h1>__NAME__</h1>
<p>WebSocket: <span id="echo">connecting</span></p>
<script>
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
ws.onopen = () => ws.send('Hello from the browser');
ws.onmessage = e => { document.getElementById('echo').textContent = e.data; };
</script>
</body></html>

"""

/// Every event of every connection. GET / is the page, /ws a WebSocket that sends each
/// message back as it came (text or binary), anything else 404. Replies that do not fit
/// now (back-pressure) close the connection, so the client sees it.
func handle(_ conn: Connection, _ ev: Event) {
    do throws(ConnectionError) {
        switch ev {
        case let .httpMessage(hm):
            if hm.uri == "/ws" {
                conn.wsUpgrade(hm)   // a request that is not an upgrade gets 400
            } else if hm.uri == "/" && (hm.method == "GET" || hm.method == "HEAD") {
                try conn.reply(200, page, headers: ["Content-Type": "text/html; charset=utf-8"])
            } else {
                try conn.reply(404, "not found\n")
            }
        case let .wsMessage(wm):
            try conn.wsSend(wm.data, wm.opcode)
        default:
            break
        }
    } catch {
        conn.close()
    }
}
