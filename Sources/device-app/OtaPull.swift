import Meerkat
import MeerkatApp

// Pulled updates (issue 26), with --ota-root and --ota-key as for uploads:
// - --ota-url URL (http:// or https://; --ota-ca FILE for a private CA, else the
//   system's): the manifest `make ota-image` writes next to the image, asked every
//   --ota-interval seconds (3600 unless given; at start too) with If-None-Match;
// - an MQTT command (MqttLink.swift): a manifest URL published on meerkat/<device>/ota
//   pulls it now; the outcome is published, retained, on meerkat/<device>/ota/status.
// Why a manifest, not X-Ota-* headers on the image: any static server (file-server,
// python's http.server, a CDN) serves two plain files, and only the manifest is asked
// every interval (a few hundred bytes; 304 when it has an ETag). It needs no signature
// of its own: the image is installed only when its bytes hash to the manifest's SHA-256
// and the signature over that is the firmware key's (`Ota.end`), so a forged manifest
// (or an MQTT command from anyone on the broker) can only get an image refused.
// The image streams through the same `Ota` begin/write/end as an upload, never whole in
// memory. Installed, the app exits and the launcher starts the new release.

/// What the last pull knew, kept in <dir>/ota-pull (synced, renamed into place) so that
/// a restart (into the release it installed, or back after a rollback) asks with the
/// same ETag and never fetches an update it tried: the --ota-url manifest's ETag, and
/// the last update tried (installed or refused) as a SHA-256 (hex) over all its manifest
/// said of it (`PullMemory.tried`).
/// Neither is ever taken from a manifest an MQTT command named alone: anyone on the
/// broker may send one, and a forged manifest naming the next genuine image's SHA-256
/// with a bad signature, or the next genuine manifest's ETag, kept the genuine update
/// from ever being fetched (it was "tried already", or 304).
struct PullMemory: Equatable {
    var etag = ""
    var tried = ""

    /// An update as a manifest names it: the image's SHA-256, size and signature, and
    /// where it is. A refusal is remembered against all four, so only the same manifest
    /// again (not one that shares the image's SHA-256 and lies about the rest) is
    /// "tried already".
    static func tried(sha: String, size: Int, signature: String, image: String) -> String {
        Crypto.hex(Sha256.hash(sha + "\n" + String(size) + "\n" + signature + "\n" + image))
    }

    static func load(_ path: String) -> PullMemory {
        guard let bytes = try? File.contents(path, limit: 1024) else { return PullMemory() }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2 else { return PullMemory() }
        return PullMemory(etag: String(lines[0]), tried: String(lines[1]))
    }

    func save(_ path: String) -> Bool {
        guard let (file, temporary) = try? File.createTemporary(for: path) else { return false }
        let synced = (try? file.write(etag + "\n" + tried + "\n")) != nil && (try? file.sync()) != nil
        file.close()
        guard synced, (try? File.replace(path, with: temporary)) != nil else {
            try? File.remove(temporary)
            return false
        }
        return true
    }
}

/// One pull at a time: the manifest, then (when it names an image not tried yet) the
/// image, each on a connection of the library's HTTP client.
final class OtaPull {
    let memoryPath: String
    let tls: TlsOpts?
    private(set) var memory: PullMemory
    /// The last outcome, for /api/version and the MQTT status topic.
    private(set) var outcome = "not checked yet"
    private var connection: Connection? = nil
    private var deadline: Timer? = nil
    /// While an image streams: the bytes it had at the last look (`watchProgress`).
    private var progress: Timer? = nil
    private var lastCount = 0
    private var expected: (size: Int, sha: [UInt8], signature: [UInt8], hex: String, memory: PullMemory)? = nil
    /// Whether the pull under way asks --ota-url (periodic, If-None-Match), not an MQTT
    /// command's URL: only its ETag is remembered.
    private var conditional = false
    private var began = false
    private var failure = ""
    private var reported: ((String) -> Void)? = nil

    init(dir: String, tls: TlsOpts?) {
        memoryPath = dir + "/ota-pull"
        self.tls = tls
        memory = PullMemory.load(memoryPath)
    }

    /// Asks `url` for its manifest (with If-None-Match when `conditional`) and installs
    /// the image it names if that is new; `done` gets the outcome.
    func check(_ url: String, conditional: Bool, done: ((String) -> Void)? = nil) {
        guard connection == nil else {
            done?("busy: a pull is under way")
            return
        }
        guard !installedNext else {  // Updates.swift: the process is about to end
            done?("busy: restarting into the release just installed")
            return
        }
        reported = done
        self.conditional = conditional
        let etag = conditional ? memory.etag : ""
        get(url) { (conn) throws(ConnectionError) in
            if etag.isEmpty {
                try conn.httpRequest("GET", EndpointURL(url)?.path ?? "/")
            } else {
                try conn.httpRequest("GET", EndpointURL(url)?.path ?? "/", headers: ["If-None-Match": etag])
            }
        } onEvent: { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            self.drop(conn)  // the image's connection may start now
            self.manifest(hm, from: url)
        }
    }

    /// The manifest's answer: nothing new, or the image to fetch.
    private func manifest(_ hm: HttpMessage, from url: String) {
        confirmHealth()  // Updates.swift: this release runs, reaches its update server and reads its answer
        if hm.status == 304 { return finish("nothing new (304)") }
        guard hm.status == 200 else { return finish("failed: the manifest's answer was \(hm.status)") }
        let body = hm.body
        guard let hex = Json.string(body, "sha256"), let sha = Crypto.unhex(hex), sha.count == Sha256.digestCount,
            let encoded = Json.string(body, "signature"), let signature = Base64.decode(encoded),
            let size = Json.integer(body, "size").flatMap({ Int(exactly: $0) }), size > 0
        else { return finish("failed: not a manifest (size, sha256, signature)") }
        let name = Json.string(body, "image") ?? "image"
        let image = name.hasPrefix("http://") || name.hasPrefix("https://") ? name : String(url[...(url.lastIndex(of: "/") ?? url.startIndex)]) + name
        let next = PullMemory(
            etag: conditional ? hm.header("ETag")?.string ?? "" : memory.etag,
            tried: PullMemory.tried(sha: hex, size: size, signature: encoded, image: image))
        if next.tried == memory.tried || String(hex.prefix(16)) == updates?.releases.current() {
            remember(next)
            return finish("nothing new (\(hex.prefix(16)) was tried already)")
        }
        expected = (size, sha, signature, hex, next)
        fetch(image)
    }

    /// Streams the image into `Ota`: begun at its head, written piece by piece, ended
    /// (checked and installed) at its end.
    private func fetch(_ url: String) {
        began = false
        get(url) { (conn) throws(ConnectionError) in
            try conn.httpRequest("GET", EndpointURL(url)?.path ?? "/")
        } onEvent: { conn, ev in
            guard let e = self.expected else { return }
            do throws(OtaError) {
                switch ev {
                case let .httpHeaders(hm):
                    guard hm.status == 200 else {
                        self.drop(conn)
                        return self.finish("failed: the image's answer was \(hm.status)")
                    }
                    guard updates != nil else { throw .notStarted }
                    try updates?.begin(size: e.size, sha256: e.sha, signature: e.signature)
                    self.began = true
                    conn.streamResponseBody()
                    self.watchProgress()
                case let .httpBody(piece):
                    try updates?.write(piece)
                case .httpMessage:
                    self.began = false
                    self.drop(conn)
                    let id = try updates?.end() ?? ""
                    self.remember(e.memory)
                    self.finish("installed \(id)")
                    restartIntoNewRelease()
                default:
                    break
                }
            } catch {
                self.began = false
                self.drop(conn)
                if case .busy = error { return self.finish("failed: \(error.description)") }  // an upload: later
                if case .storage = error { return self.finish("failed: \(error.description)") }
                self.remember(e.memory)  // refused: never fetched again
                self.finish("refused \(e.hex.prefix(16)): \(error.description)")
            }
        }
    }

    /// Connects to `url`; `request` sends once it is up; `onEvent` sees the rest. An
    /// error, or no end within ten minutes, fails the pull (tried again next time).
    private func get(
        _ url: String, request: @escaping (Connection) throws(ConnectionError) -> Void,
        onEvent: @escaping (Connection, Event) -> Void
    ) {
        failure = "closed before the end"
        do throws(ConnectError) {
            connection = try manager.connect(url, tls: tls) { conn, ev in
                switch ev {
                case .connect:
                    do throws(ConnectionError) { try request(conn) } catch { conn.close() }
                case let .error(why):
                    self.failure = "\(why)"
                case .close:
                    guard conn == self.connection else { return }
                    self.connection = nil
                    if self.began {  // cut off mid-image: nothing of it stays
                        updates?.abort()
                        self.began = false
                    }
                    self.finish("failed: " + self.failure)
                default:
                    onEvent(conn, ev)
                }
            }
        } catch {
            finish("failed: \(url): \(error)")
            return
        }
        deadline?.cancel()
        deadline = manager.timerAdd(600_000) { self.connection?.close() }
    }

    /// An image server that stalls mid-image (or trickles a few bytes) held the update,
    /// so every upload was refused 409 (busy), for the whole ten minutes: the library
    /// never times out a connection the app opened. Under 1 KiB in 30 s fails the pull
    /// (tried again next time).
    private func watchProgress() {
        lastCount = 0
        progress?.cancel()
        progress = manager.timerAdd(OtaPull.stallMs, repeat: true) {
            let count = updates?.receivedCount ?? 0
            if count - self.lastCount >= 1024 {
                self.lastCount = count
            } else {
                self.failure = "the image stalled (under 1 KiB in \(OtaPull.stallMs / 1000) s)"
                self.connection?.close()
            }
        }
    }

    static let stallMs = 30_000

    /// Ends a connection this pull is done with: its close is not a failure.
    private func drop(_ conn: Connection) {
        if conn == connection { connection = nil }
        conn.close()
    }

    private func remember(_ next: PullMemory) {
        guard next != memory else { return }
        memory = next
        if !next.save(memoryPath) { print("ota: cannot write \(memoryPath)") }
    }

    private func finish(_ text: String) {
        deadline?.cancel()
        progress?.cancel()
        progress = nil
        expected = nil
        outcome = text
        print("ota: pull: \(text)")
        AppOptions.flushOutput()
        reported?(text)
        reported = nil
    }
}

/// The puller (main.swift makes it once the manager is up), when updates are on
/// (--ota-root); it asks --ota-url every --ota-interval.
func pullFromOptions() -> OtaPull? {
    guard updates != nil else { return nil }
    let ca = options.value(of: "--ota-ca").map { path in
        guard let bytes = try? File.contents(path, limit: 64 * 1024) else {
            print("device-app: --ota-ca: cannot read \(path)")
            AppOptions.exitProcess(2)
        }
        return bytes
    }
    let pull = OtaPull(dir: options.dir, tls: ca.map { TlsOpts(ca: $0) })
    if let url = options.value(of: "--ota-url") {
        manager.timerAdd(pullSeconds * 1000, repeat: true, runNow: true) { pull.check(url, conditional: true) }
    }
    return pull
}

/// The MQTT command: pulls the manifest at `url` now (without If-None-Match: whoever
/// sent it wants an answer); the outcome goes to `publish`.
func otaCommand(_ url: String, publish: @escaping (String) -> Void) {
    guard let puller else { return publish("refused: updates are off (no --ota-root)") }
    guard let parsed = EndpointURL(url), parsed.scheme == .http || parsed.scheme == .https else {
        return publish("refused: not an http:// or https:// URL")
    }
    publish("pulling " + url)
    puller.check(url, conditional: false, done: publish)
}
