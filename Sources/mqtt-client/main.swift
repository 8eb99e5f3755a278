// mqtt-client: an on-device MQTT tool, mosquitto_pub and mosquitto_sub in one. Each
// --sub FILTER (any number) is subscribed, and every message is printed as "topic payload"
// on a line; --pub TOPIC publishes each line of stdin to TOPIC. --qos N (0–2) for both,
// --retain for publishes, --count N exits after N messages, --user, --pass, --client-id,
// --keep-alive S, --ca FILE (mqtts://, wss://), --insecure, --alpn P[,P] (the protocols
// offered in TLS; mqtts:// offers "mqtt" without it: "x-amzn-mqtt-ca" for AWS IoT on 443
// with a client certificate). --keep-session turns clean
// session off (the broker keeps subscriptions and queued messages, and this side keeps
// what it has in flight; give a --client-id), and --reconnect keeps the link up through a
// broker restart (a Reconnector: backoff from 250 ms to 5 s; while down, stdin waits and
// errors print as "down: …"). At the end of stdin it waits
// until every publish is acknowledged and the broker has been quiet for 300 ms (5 s at
// most), sends DISCONNECT and exits 0; an error prints "error: …" and exits 1. While the
// in-flight table (QoS 1 and 2) or the send block is full, stdin waits where it is (the
// pipe fills, the writer blocks) and goes on as acknowledgements come in.
//
//   mqtt-client --sub 'sensors/#' mqtt://127.0.0.1
//   echo 21.5 | mqtt-client --pub sensors/kitchen/temp --qos 1 mqtt://127.0.0.1
import Meerkat
import MeerkatApp

/// The command line, parsed in a function (README, "Writing code that builds as firmware").
struct Options {
    var url: String? = nil
    var subs: [String] = []
    var pub: String? = nil
    var qos = 0
    var retain = false
    var count = 0
    var opts = MqttOpts()
    var caFile: String? = nil
    var insecure = false
    var alpn: String? = nil
    var reconnect = false
}

let usageLine =
    "usage: mqtt-client [--log-level error|info|debug|verbose|none] [--sub FILTER]... [--pub TOPIC] [--qos 0|1|2] [--retain] [--count N] [--user U] "
    + "[--pass P] [--client-id ID] [--keep-alive S] [--ca FILE] [--insecure] [--alpn P[,P]] [--keep-session] [--reconnect] "
    + "mqtt://HOST[:PORT] | mqtts://… | ws://…"

func parseOptions() -> Options {
    var o = Options()
    var args = AppOptions.arguments(usage: usageLine)[...]
    while let arg = args.popFirst() {
        switch arg {
        case "--sub": if let f = args.popFirst() { o.subs.append(f) }
        case "--pub": o.pub = args.popFirst()
        case "--qos": o.qos = args.popFirst().flatMap { Int($0) } ?? -1
        case "--retain": o.retain = true
        case "--count": o.count = args.popFirst().flatMap { Int($0) } ?? -1
        case "--user": o.opts.username = args.popFirst()
        case "--pass": o.opts.password = args.popFirst()
        case "--client-id": o.opts.clientId = args.popFirst() ?? ""
        case "--keep-alive": o.opts.keepAlive = args.popFirst().flatMap { Int($0) } ?? -1
        case "--ca": o.caFile = args.popFirst()
        case "--insecure": o.insecure = true
        case "--alpn": o.alpn = args.popFirst()
        case "--keep-session": o.opts.cleanSession = false
        case "--reconnect": o.reconnect = true
        default: o.url = arg.hasPrefix("-") ? nil : arg
        }
    }
    return o
}

var options = parseOptions()
guard let url = options.url, (0...2).contains(options.qos), options.count >= 0, options.opts.keepAlive >= 0,
    !options.subs.isEmpty || options.pub != nil
else {
    print(usageLine)
    AppOptions.exitProcess(2)
}
options.opts.tls = AppOptions.clientTls(caFile: options.caFile, insecure: options.insecure)
if let list = options.alpn {
    var tls = options.opts.tls ?? TlsOpts()
    tls.alpn = list.split(separator: ",").map { String($0) }
    options.opts.tls = tls
}
let subs = options.subs, pubTopic = options.pub, qos = options.qos, retain = options.retain
let wanted = options.count, reconnect = options.reconnect

let manager = Manager(limits: Limits.board)
/// The broker connection while it is open (nil while a reconnect is pending).
var broker: Connection? = nil
var keeper: Reconnector? = nil
/// DISCONNECT was sent (or the link given up): the next close ends the process.
var finishing = false
var failed = false
var received = 0
/// Ticks of 100 ms since the broker last sent something, once stdin has ended.
var quietTicks = 0
let space: StaticString = " ", newline: StaticString = "\n"

var stdinConnection: Connection? = nil
var stdinWatched = false
/// What stdin still held when it ended, published as room comes.
var leftover: [UInt8] = []

/// Publishes each whole line of `bytes` until back-pressure (the rest is tried again
/// after the next acknowledgement or write); returns the bytes used. A burst goes out in
/// few writes (`sendBatch`).
func publishLines(_ bytes: ByteView) -> Int {
    guard let conn = broker, conn.isMqttOpen, let topic = pubTopic else { return 0 }  // down: the lines wait
    var start = 0
    conn.sendBatch {
        while let end = bytes.firstIndex(of: 10, from: start) {
            var line = bytes.slice(start, end)
            if line.count > 0 && line.buffer[line.count - 1] == 13 { line = line.slice(0, line.count - 1) }
            do throws(ConnectionError) {
                _ = try conn.mqttPub(topic, line, qos: qos, retain: retain)
            } catch  where error == .inFlightFull || error == .sendBufferFull {
                break
            } catch {
                // One catch for both: a third clause crashed this loop on aarch64 at
                // -Osize (Swift 6.3.1, as scripts/repro-aarch64-osize.sh's case).
                print(error == .messageTooLarge ? "error: a line too large to keep in flight" : "error: cannot publish")
                failed = true
            }
            start = end + 1
        }
    }
    return start
}

/// Room again: the next lines go out, from stdin or from what it left.
func publishMore() {
    if let input = stdinConnection, input.recvLen > 0 {
        input.consume(publishLines(input.received))
    } else if !leftover.isEmpty {
        let used = leftover.withUnsafeBytes { publishLines(ByteView($0)) }
        leftover.removeFirst(used)
    }
}

/// DISCONNECT, then exit on the close; with no link (a reconnect pending), exit now.
func finish() {
    finishing = true
    if let conn = broker {
        conn.mqttDisconnect()
    } else {
        keeper?.stop()
        manager.stop()
    }
}

/// stdin ended: DISCONNECT once everything is acknowledged and the broker is quiet.
func disconnectWhenDone() {
    var waited = 0
    var ticker: Timer? = nil
    ticker = manager.timerAdd(100, repeat: true) {
        quietTicks += 1
        waited += 1
        let settled = broker != nil && leftover.isEmpty && broker?.mqttInFlight == 0 && quietTicks >= 3
        if settled && (subs.isEmpty || wanted == 0) || waited >= 50 && wanted == 0 {
            finish()
            ticker?.cancel()
        }
    }
}

/// Every event of the broker connection (each one, with --reconnect).
func onBrokerEvent(_ conn: Connection, _ ev: Event) {
    switch ev {
    case .mqttOpen(0):
        broker = conn
        for filter in subs where (try? conn.mqttSub(filter, qos: qos)) == nil {
            print("error: cannot subscribe to " + filter)
            failed = true
        }
        if pubTopic != nil && !stdinWatched { watchStdin() }
        publishMore()
    case let .mqttMessage(m):
        quietTicks = 0
        AppOptions.flushOutput()
        try? File.standardOutput.write(m.topic)  // no String made per message
        try? File.standardOutput.write(space)
        try? File.standardOutput.write(m.payload)
        try? File.standardOutput.write(newline)
        received += 1
        if received == wanted { finish() }
    case .mqttCommand, .write:
        quietTicks = 0
        publishMore()
    case .tlsHandshake where Log.enabled(.debug):
        print(AppOptions.tlsLine(conn))
        AppOptions.flushOutput()
    case let .error(why) where reconnect && !finishing:
        print("down: \(why)")
    case let .error(why):
        print("error: \(why)")
        failed = true
    case .close:
        if reconnect && !finishing && broker != nil { print("down: the connection closed; reconnecting") }
        broker = nil
        if finishing || !reconnect {
            keeper?.stop()
            manager.stop()
        }
    default:
        break
    }
}

/// Publishes stdin's lines from the first CONNACK on; stdin is watched once, for every
/// reconnect after it.
func watchStdin() {
    stdinWatched = true
    do throws(ConnectError) {
        stdinConnection = try manager.watch(0) { input, ev in
            switch ev {
            case .read: input.consume(publishLines(input.received))
            case .close:
                var rest = input.received.bytes
                if rest.last != 10 && !rest.isEmpty { rest.append(10) }  // a last line without its newline
                leftover = rest
                stdinConnection = nil
                publishMore()
                disconnectWhenDone()
            default: break
            }
        }
    } catch {
        print("error: cannot watch stdin (a pipe or a terminal; for a file: cat FILE | mqtt-client …)")
        failed = true
        manager.stop()
    }
}

if reconnect {
    keeper = Reconnector(
        manager, mqtt: url, opts: options.opts, minDelayMs: 250, maxDelayMs: 5000,
        handler: onBrokerEvent, onState: { _ in })
} else {
    do throws(ConnectError) {
        try manager.mqttConnect(url, opts: options.opts, handler: onBrokerEvent)
    } catch {
        print("error: cannot connect to " + url)
        AppOptions.exitProcess(1)
    }
}
manager.run()
AppOptions.exitProcess(failed ? 1 : 0)
