import Meerkat
import MeerkatApp
import WebUI

var uptime = 0  // seconds, counted by a timer
var requests = 0  // HTTP requests served
var failedReplies = 0  // replies that could not be queued
var timeSource = ""  // the SNTP server whose answer set the clock; "" until one did

// --listen, --dir (settings, uploads), --web DIR (pages from a folder instead of the
// firmware), --upload-limit BYTES, --report URL, --mqtt URL (with --mqtt-user,
// --mqtt-pass, --mqtt-ca FILE), --host NAME (another name the board answers to),
// --password-file PATH (provisions the admin password), --sntp HOST (the time server;
// pool.ntp.org unless given, "none": never asked), --ota-root DIR --ota-key FILE
// [--ota-limit BYTES] (signed updates, Updates.swift) [--ota-url URL --ota-interval
// SECONDS --ota-ca FILE] (pulled, OtaPull.swift); sizes from the board profile. Each
// value's kind after a space, for --help; a bad number is refused with exit 2.
let options = AppOptions.parse(
    defaultListen: "http://0.0.0.0:8000",
    valued: [
        "--web DIR", "--upload-limit BYTES", "--mqtt URL", "--mqtt-user NAME", "--mqtt-pass PASSWORD", "--mqtt-ca FILE",
        "--host NAME", "--password-file PATH", "--sntp HOST", "--ota-root DIR", "--ota-key FILE", "--ota-limit BYTES",
        "--ota-url URL", "--ota-interval SECONDS", "--ota-ca FILE",
    ])
let uploadLimit = UInt64(options.number(of: "--upload-limit", default: 8 << 20, in: 1...Int(Int32.max)))
// How often --ota-url is asked (OtaPull.swift): at most 24 days, whose milliseconds fit
// a 32-bit Int.
let pullSeconds = options.number(of: "--ota-interval", default: 3600, in: 1...(24 * 86400))
_ = updates  // made now (Updates.swift): a bad --ota-key or --ota-limit ends the start before it listens
var settings = Settings.load(options.dir)
var count: Int32 = 0
let packedWeb = PackedFS(table: webui_files(&count), count: count)  // web/device, packed at build time
var access = Access(dir: options.dir)  // the admin password's record; none: setup first (Access.swift)
_ = try? File.makeFolder(options.dir + "/uploads")
File.removeTemporaries(in: options.dir + "/uploads")  // uploads a kill -9 or power cut left half written
File.removeTemporaries(in: options.dir)  // a password record a kill -9 during setup left unrenamed

/// The board's status: what /api/status serves and --report sends (--mqtt adds
/// "online": true, so its will can say false), with the firmware's Meerkat version.
func status(online: Bool = false) -> [UInt8] {
    jsonObject { statusFields(&$0, online: online) }
}

func statusFields(_ o: inout JsonWriter, online: Bool = false) {
    o.add("name", settings.name)
    o.add("version", Meerkat.version)
    if online { o.add("online", true) }
    o.add("uptime", uptime)
    o.add("requests", requests)
    o.add("failedReplies", failedReplies)
    o.add("timeSynced", !timeSource.isEmpty)
    o.add("timeSource", timeSource)
    otaStatusFields(&o)  // with --ota-root: the release, confirmed, the last rollback (Updates.swift)
}

/// What every page and asset is sent with: a strict CSP (no inline script or style, no
/// other origin, never framed), no sniffing, no Referer, and checked on every use.
func webOptions() -> ServeOptions {
    var web = ServeOptions()
    web.header(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    web.header("X-Content-Type-Options", "nosniff")
    web.header("Referrer-Policy", "no-referrer")
    web.header("Cache-Control", "no-cache")
    return web
}
let web = webOptions()

let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    do throws(ConnectionError) {
        if try otaEvent(conn, ev) { return }  // firmware updates: POST /api/ota, GET /api/version (Updates.swift)
        switch ev {
        case let .httpHeaders(hm) where hm.uri == "/api/upload" && hm.method == "POST":
            // Only with a session and from the dashboard's page (else answered here);
            // streamed part by part into <dir>/uploads (the library's Upload: a temporary
            // renamed into place whole); refused at once when too large or not a form.
            guard try access.allows(conn, hm, manager, write: true) else { return }
            do throws(UploadError) {
                conn.userdata = try Upload.form(hm, folder: options.dir + "/uploads", limit: uploadLimit)
                conn.streamRequestBody()
            } catch {
                try conn.replyError(error.status, uploadAnswer(error), headers: jsonHeaders)
            }
        case let .httpBody(piece):
            try? conn.userdata(as: Upload.self)?.write(piece)  // a failure is answered at the end
        case let .httpMessage(hm):
            requests += 1
            if let upload = conn.userdata(as: Upload.self) {
                conn.userdata = nil
                let (code, answer) = uploadAnswer(upload)  // JSON, an error or not: no page either way
                try conn.replyError(code, answer, headers: jsonHeaders)
            } else if hm.uri == "/api/upload" && hm.method == "POST" {
                // refused at its headers (no session, or not from the dashboard)
            } else if try access.answerPublic(conn, hm, manager) {
                // setup, login, logout
            } else if hm.uri == "/ws/live" || hm.uri.hasPrefix("/api/") {
                let reads = hm.method == "GET" || hm.method == "HEAD"
                guard try access.allows(conn, hm, manager, write: !reads) else { return }
                if hm.uri == "/ws/live" {
                    _ = conn.wsUpgrade(hm)  // the dashboard's live numbers
                } else if hm.uri == "/api/status" && reads {
                    try conn.reply(200, jsonAnswer { statusFields(&$0) }, headers: jsonHeaders)  // no allocation
                } else if hm.uri == "/api/settings" && hm.method == "POST" {
                    try saveSettings(conn, hm)
                } else if hm.uri == "/api/settings" && reads {
                    try conn.reply(200, settings.json, headers: jsonHeaders)
                } else if hm.uri == "/api/settings" || hm.uri == "/api/status" {
                    try conn.replyError(405, "{\"error\": \"not with this method\"}\n", headers: jsonHeaders)
                } else {
                    try conn.replyError(404, "{\"error\": \"no such API\"}\n", headers: jsonHeaders)
                }
            } else if hm.uri == "/hello" {  // a greeting, open to all: it reads and changes nothing
                let name = hm.queryVar("name") ?? "board"
                try conn.reply(200, "Hello, \(name)!\n", headers: ["Content-Type": "text/plain"])
            } else if access.needsSetup && !Access.setupFiles.contains(where: { hm.uri == $0 }) {
                try conn.replyError(303, "", headers: ["Location": "/setup.html"])  // only the setup page until then
            } else if let folder = options.value(of: "--web") {
                conn.serveDir(hm, root: folder, options: web)
            } else {
                conn.serveDir(hm, packed: packedWeb, options: web)
            }
        default:
            break
        }
    } catch {
        // .sendBufferFull: a copied body larger than a send block (StaticString,
        // [UInt8] and hm.body go out at any size); .closed: the client left. Either
        // way the library answers 500 if it can and closes; here we only count it.
        failedReplies += 1
    }
}

/// POST /api/settings (JSON `{"name", "interval"}`, or the dashboard's form; a session
/// and a same-origin request checked by Access): checked, saved atomically, answered.
func saveSettings(_ conn: Connection, _ hm: HttpMessage) throws(ConnectionError) {
    var next = settings
    if Access.isJSON(hm) {  // a field of the wrong type, or no JSON at all, is as bad as a bad value
        if Json.value(hm.body, "name") != nil { next.name = Json.string(hm.body, "name").flatMap(Settings.valid) ?? "" }
        if Json.value(hm.body, "interval") != nil { next.intervalS = Json.integer(hm.body, "interval").map { Int(clamping: $0) } ?? 0 }
        if !Json.isValid(hm.body) { next.name = "" }
    } else if hm.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true {
        if let name = hm.formVar("name") { next.name = Settings.valid(name: name) ?? "" }
        if let interval = hm.formVar("interval") { next.intervalS = Int(interval) ?? 0 }
    } else {
        return try conn.replyError(415, "{\"error\": \"send JSON (or the dashboard's form)\"}\n", headers: jsonHeaders)
    }
    guard !next.name.isEmpty, (1...3600).contains(next.intervalS) else {
        return try conn.replyError(
            400, "{\"error\": \"a name of 1 to 40 characters and 1 to 3600 seconds\"}\n",
            headers: jsonHeaders)
    }
    guard next.save(options.dir) else {
        return try conn.replyError(500, "{\"error\": \"cannot write the settings\"}\n", headers: jsonHeaders)
    }
    settings = next
    restartReports()
    try conn.reply(200, settings.json, headers: jsonHeaders)
}

/// An MQTT command (`interval N`, `status`); the answer published on the reply topic.
func mqttCommand(_ text: String) -> String {
    let words = text.split(separator: " ")
    if words.count == 2 && words[0] == "interval", let n = Int(words[1]), (1...3600).contains(n) {
        var next = settings
        next.intervalS = n
        guard next.save(options.dir) else { return "error: cannot write the settings" }
        settings = next
        restartReports()
        return "ok interval " + String(n)
    }
    if text == "status" {
        link?.publishStatus()
        return "ok status"
    }
    return "error: unknown command (try: interval SECONDS, status)"
}

// Every second: the uptime, and a sample of the board for every open dashboard.
var metrics = Metrics()
manager.timerAdd(1000, repeat: true) {
    uptime += 1
    let sample = metrics.sample(
        name: settings.name, uptime: uptime, connections: manager.stats.connections,
        requests: requests, timeSource: timeSource)
    manager.wsBroadcast(sample)
}
// Against DNS rebinding, only the names the board answers to: IP literals, localhost,
// its host name (and NAME.local, as mDNS gives it), and every --host NAME. Cross-origin
// writes and /ws/live upgrades are refused by the library's default policy.
var hosts = options.list(of: "--host")
if let name = AppOptions.hostName { hosts += [name, name + ".local"] }
manager.originPolicy.hosts = hosts
if let file = options.value(of: "--password-file"), !access.provision(from: file, manager) {
    print("device-app: --password-file: cannot read a password of 8 to 128 bytes (or a record) from it, or cannot store it")
    AppOptions.exitProcess(2)
}
if access.damaged {
    print("device-app: \(access.recordPath) is not a password record: the board stays locked; provision it with --password-file")
}
options.listenAll(manager)

// --report ws://server/path: keep a WebSocket to a server, reconnecting with backoff
// while it is away, and send it the status every report interval (the settings'; or
// --report-ms). Reports due while it is down are skipped, not queued.
var reporter: Reconnector? = nil
var reportTimer: Timer? = nil
var link: MqttLink? = nil
func restartReports() {
    let period = options.reportMs ?? settings.intervalS * 1000
    link?.report(every: period, on: manager)
    guard let reporter else { return }
    reportTimer?.cancel()
    reportTimer = manager.timerAdd(period, repeat: true) {
        try? reporter.connection?.wsSend(status())
    }
}
if let url = options.report {
    reporter = Reconnector(
        manager, url: url, handler: { _, _ in },
        onState: { up in
            print(up ? "report: up" : "report: down")
        })
}
// --mqtt mqtt://broker[:1883] (or mqtts://, ws://…/mqtt): status, will and commands
// on meerkat/<name>/… (MqttLink.swift).
if let url = options.value(of: "--mqtt") {
    let ca = options.value(of: "--mqtt-ca").flatMap { try? File.contents($0, limit: 64 * 1024) }
    link = MqttLink(
        manager, url: url, device: settings.name, user: options.value(of: "--mqtt-user"),
        password: options.value(of: "--mqtt-pass"), ca: ca, online: { status(online: true) },
        command: mqttCommand)
}
restartReports()
let puller = pullFromOptions()  // --ota-url, and the MQTT command's pulls (OtaPull.swift)

// --sntp HOST: the board's time, asked now, again every minute until it answers, then
// hourly. TLS clients (--report wss://, --mqtt mqtts://) check certificate dates against
// it, and against the firmware's build time until it answers; the system clock is set
// too when the app may (CAP_SYS_TIME; a refusal is logged once).
let timeServer = options.value(of: "--sntp") ?? "pool.ntp.org"
manager.setsSystemClock = true
var minutesToAsk = 0
func askTime() {
    do throws(ConnectError) {
        try manager.sntpConnect(timeServer) { conn, ev in
            if case let .sntpTime(ms) = ev {
                print("time: \(ms) from \(timeServer)")
                AppOptions.flushOutput()
                timeSource = timeServer
                minutesToAsk = 60
                conn.close()
            } else if case let .error(why) = ev {
                print("time: \(timeServer): \(why)")
                AppOptions.flushOutput()
            }
        }
    } catch {
        print("time: cannot ask \(timeServer): \(error)")
    }
}
if timeServer != "none" {
    manager.timerAdd(60_000, repeat: true, runNow: true) {
        minutesToAsk -= 1
        if minutesToAsk <= 0 { askTime() }
    }
}
manager.run()
