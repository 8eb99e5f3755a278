// ws-client: an on-device WebSocket debugging tool, like websocat. Each line from stdin
// goes out as a text message (binary with --binary); each message that comes back is
// printed on a line of its own. --ping-ms N pings every N ms; --ca FILE trusts that CA
// for wss:// (the system's CAs otherwise); --insecure skips the certificate check. At
// the end of stdin it waits until the server has been quiet for 300 ms (5 s at most),
// closes the WebSocket (1000) and exits 0 once the server answers; an error prints
// "error: …" and exits 1. --timeout-ms N bounds the connect and the wait for the 101.
// --reconnect keeps the WebSocket up instead (Reconnector: backoff from
// --reconnect-min-ms, 500, doubling to --reconnect-max-ms, 30000, with jitter), printing
// "up" and "down"; lines typed while it is down are dropped, not queued; it runs until
// stdin ends. --repeat N sends a line N times, each after the echo of the one before,
// and prints the last echo (round trips, one line at a time: what make bench times).
// --protocol LIST offers those subprotocols ("chat, superchat"); a 101 that picks
// another, or more than one, fails the connection. --serial PATH[:BAUD] bridges a UART
// instead of stdin (raw mode, 8N1, 115200 unless given): each line from the port goes out
// as a message, and each message that comes back is written to the port with a newline.
//
//   ws-client ws://127.0.0.1:8000/ws
//   ws-client --ca build/tls/server.crt wss://localhost:8443/ws
//   ws-client --serial /dev/ttyS0:9600 ws://192.168.1.10:8000/ws
import Meerkat
import MeerkatApp

/// The command line, parsed in a function: top-level code that assigns a global `String?`
/// in a `while let … popFirst()` loop is miscompiled for aarch64 at -Osize (README,
/// "Writing code that builds as firmware").
struct Options {
    var url: String? = nil
    var binary = false
    var pingMs = 0
    var caFile: String? = nil
    var insecure = false
    var timeoutMs = 10_000
    var reconnect = false
    var reconnectMinMs = 500
    var reconnectMaxMs = 30_000
    var repeatCount = 1
    var protocols: String? = nil
    var serial: String? = nil
}

let usageLine =
    "usage: ws-client [--log-level error|info|debug|verbose|none] [--binary] [--ping-ms N] [--ca FILE] [--insecure] [--timeout-ms N] [--repeat N] [--protocol LIST] "
    + "[--serial PATH[:BAUD]] [--reconnect [--reconnect-min-ms N] [--reconnect-max-ms N]] ws://HOST:PORT/PATH | wss://…"

func parseOptions() -> Options {
    var o = Options()
    var args = AppOptions.arguments(usage: usageLine)[...]
    while let arg = args.popFirst() {
        switch arg {
        case "--binary": o.binary = true
        case "--insecure": o.insecure = true
        case "--ping-ms": o.pingMs = args.popFirst().flatMap { Int($0) } ?? -1
        case "--ca": o.caFile = args.popFirst()
        case "--timeout-ms": o.timeoutMs = args.popFirst().flatMap { Int($0) } ?? -1
        case "--reconnect": o.reconnect = true
        case "--reconnect-min-ms": o.reconnectMinMs = args.popFirst().flatMap { Int($0) } ?? -1
        case "--reconnect-max-ms": o.reconnectMaxMs = args.popFirst().flatMap { Int($0) } ?? -1
        case "--repeat": o.repeatCount = args.popFirst().flatMap { Int($0) } ?? -1
        case "--protocol": o.protocols = args.popFirst()
        case "--serial": o.serial = args.popFirst()
        default: o.url = arg.hasPrefix("-") ? nil : arg
        }
    }
    return o
}

let options = parseOptions()
let binary = options.binary
let pingMs = options.pingMs
let caFile = options.caFile
let insecure = options.insecure
let timeoutMs = options.timeoutMs
let reconnect = options.reconnect
let reconnectMinMs = options.reconnectMinMs
let reconnectMaxMs = options.reconnectMaxMs
let repeatCount = options.repeatCount
guard let url = options.url, pingMs >= 0, timeoutMs > 0, reconnectMinMs > 0, reconnectMaxMs > 0, repeatCount > 0 else {
    print(usageLine)
    AppOptions.exitProcess(2)
}

var failed = false
var server: Connection? = nil
let newline: StaticString = "\n"
/// Ticks of 100 ms since the last message (reset by each one), once stdin has ended.
var quietTicks = 0
/// Echoes still to send back for the line in flight (--repeat).
var echoesLeft = 0

/// stdin ended: close once answers have stopped coming.
func closeWhenQuiet() {
    var waited = 0
    var ticker: Timer? = nil
    ticker = manager.timerAdd(100, repeat: true) {
        quietTicks += 1
        waited += 1
        if quietTicks >= 3 || waited >= 50 {
            server?.wsClose()
            ticker?.cancel()
        }
    }
}
var limits = Limits.board
limits.connectTimeoutMs = timeoutMs
limits.headerTimeoutMs = timeoutMs  // the wait for the 101
let manager = Manager(limits: limits)

/// Sends each whole line of stdin's bytes as one message; keeps a partial line.
func sendLines(_ input: Connection) {
    let bytes = input.received
    var start = 0
    while let end = bytes.firstIndex(of: 10, from: start) {
        var line = bytes.slice(start, end)
        if line.count > 0 && line.buffer[line.count - 1] == 13 { line = line.slice(0, line.count - 1) }
        do {
            try server?.wsSend(line, binary ? WEBSOCKET_OP_BINARY : WEBSOCKET_OP_TEXT)
            echoesLeft = repeatCount - 1
        } catch  where reconnect {
            // Down, or going down: the line is dropped (nothing queued while down).
        } catch {
            print("error: cannot send (\(error == .sendBufferFull ? "send buffer full" : "connection closed"))")
            failed = true
            manager.stop()
        }
        start = end + 1
    }
    input.consume(start)
}

let tls = AppOptions.clientTls(caFile: caFile, insecure: insecure)

/// The UART bridged instead of stdin (--serial), once the WebSocket is open.
var serialPort: Connection? = nil

/// Where input lines come from: stdin, or the serial port (opened raw) with --serial.
/// `.read` sends lines; `.close` (end of input) calls `onEnd`.
func watchInput(onEnd: @escaping () -> Void) throws(ConnectError) {
    var fd: Int32 = 0
    if let spec = options.serial {
        let colon = spec.utf8.lastIndex(of: UInt8(ascii: ":"))
        let path = colon.map { String(spec[..<$0]) } ?? spec
        let baud = colon.flatMap { Int(spec[spec.index(after: $0)...]) } ?? 115_200
        do throws(FileError) {
            fd = try File.openSerial(path, baud: baud).fd
        } catch {
            throw .system(0)
        }
    }
    let input = try manager.watch(fd) { input, ev in
        switch ev {
        case .read: sendLines(input)
        case .close: onEnd()
        default: break
        }
    }
    if options.serial != nil { serialPort = input }
}

/// Prints a message's bytes as they came (no String made), then a newline; with
/// --serial, writes them to the port instead.
func printMessage(_ wm: WsMessage) {
    if let port = serialPort {
        do throws(ConnectionError) {
            try port.send(wm.data)
            try port.send(newline)
        } catch {
            print("error: the serial port is not taking bytes")
        }
        return
    }
    AppOptions.flushOutput()
    try? File.standardOutput.write(wm.data)
    try? File.standardOutput.write(newline)
}

if reconnect {
    var keeper: Reconnector? = nil
    var stdinWatched = false
    keeper = Reconnector(
        manager, url: url, tls: tls, minDelayMs: reconnectMinMs, maxDelayMs: reconnectMaxMs,
        handler: { _, ev in
            switch ev {
            case let .wsMessage(wm): printMessage(wm)
            case let .error(why): print("error: \(why)")
            default: break
            }
        },
        onState: { up in
            server = up ? keeper?.connection : nil
            print(up ? "up" : "down")
            AppOptions.flushOutput()
            guard up, !stdinWatched else { return }
            stdinWatched = true
            do throws(ConnectError) {
                try watchInput {
                    keeper?.stop()
                    manager.stop()
                }
            } catch {
                print("error: cannot open the serial port \(options.serial ?? "")")
                keeper?.stop()
                manager.stop()
            }
        })
    manager.run()
    AppOptions.exitProcess(0)
}

do throws(ConnectError) {
    server = try manager.connect(url, tls: tls, protocols: options.protocols) { conn, ev in
        switch ev {
        case let .wsMessage(wm):
            quietTicks = 0
            if echoesLeft > 0 {
                echoesLeft -= 1
                do throws(ConnectionError) {
                    try conn.wsSend(wm.data, wm.opcode)
                } catch {
                    print("error: cannot send")
                    failed = true
                    conn.close()
                }
                return
            }
            printMessage(wm)
        case let .error(why):
            print(AppOptions.errorLine(why, conn))
            failed = true
        case .tlsHandshake where Log.enabled(.debug):
            print(AppOptions.tlsLine(conn))
            AppOptions.flushOutput()
        case .wsOpen:
            // Only now does stdin matter: lines typed before the upgrade wait in the pipe.
            do throws(ConnectError) {
                try watchInput { closeWhenQuiet() }
            } catch {
                print(options.serial.map { "error: cannot open the serial port \($0)" } ?? "error: cannot watch stdin")
                failed = true
                manager.stop()
            }
        case .close:
            manager.stop()
        default:
            break
        }
    }
} catch {
    print("error: cannot connect to \(url)")
    AppOptions.exitProcess(1)
}
if pingMs > 0 {
    manager.timerAdd(pingMs, repeat: true) { try? server?.wsPing() }
}
manager.run()
AppOptions.exitProcess(failed ? 1 : 0)
