import Meerkat
import MeerkatApp

// Firmware updates (issue 26), on when device-app runs with --ota-root DIR (the install
// root, /opt/NAME on a board) and --ota-key FILE (the signer's P-256 public key; `make
// bundle` ships it). POST /api/ota takes a signed image as the request body (streamed
// into the library's `Ota`, never whole in memory), with its SHA-256 in X-Ota-Sha256
// (hex) and its signature in X-Ota-Signature (base64 DER); a session and the dashboard's
// origin are needed, as for every write. Installed, the app answers, then exits so that
// the service (ota-launch under systemd) starts the new release, which confirms itself
// after its first served request. GET /api/version says which release runs, whether it
// is confirmed, and what the last rollback was.

/// Marks a connection whose request body is an image (its userdata).
final class ImageUpload {
    /// The first refusal while the body streamed; the rest of it is dropped.
    var refusal: OtaError? = nil
}

var updates = otaFromOptions()
var updateOwner: Connection? = nil
let updateHeaders: KeyValuePairs<String, String> = ["Content-Type": "application/json", "Cache-Control": "no-store"]

func otaFromOptions() -> Ota? {
    guard let root = options.value(of: "--ota-root") else { return nil }
    guard let path = options.value(of: "--ota-key"), let key = try? File.contents(path, limit: 4096) else {
        print("device-app: --ota-root needs --ota-key FILE, the P-256 public key images are signed for")
        AppOptions.exitProcess(2)
    }
    let releases = OtaReleases(root: root, binary: "device-app")
    releases.removeLeftovers()  // what a kill -9 or power cut during an install left
    return Ota(releases: releases, publicKey: key, maxImageSize: options.number(of: "--ota-limit", default: 32 << 20, in: 1...(1 << 30)))
}

/// What the status JSON (/api/status, the MQTT status topic, --report) says of updates,
/// read once at start: the launcher wrote its rollback report before this process
/// began, and only this process confirms its release. Kept, so that a status allocates
/// nothing; a board managed over MQTT learns of a rollback from it.
struct OtaStatus {
    var release: String?
    var confirmed: Bool
    var rollback: String?

    init(_ releases: OtaReleases) {
        release = releases.current()
        confirmed = release.map { releases.isConfirmed($0) } ?? false
        rollback = releases.rollbackReport()
    }
}
var otaStatus = updates.map { OtaStatus($0.releases) }

/// The status's "release", "confirmed" and "rollback" (null: none), with --ota-root.
func otaStatusFields(_ o: inout JsonWriter) {
    guard let s = otaStatus else { return }
    if let id = s.release { o.add("release", id) } else { o.addNull("release") }
    o.add("confirmed", s.confirmed)
    if let text = s.rollback { o.add("rollback", text) } else { o.addNull("rollback") }
}

/// The update routes and the health confirmation, ahead of main's routes: true when the
/// event was answered here.
func otaEvent(_ conn: Connection, _ ev: Event) throws(ConnectionError) -> Bool {
    switch ev {
    case let .httpHeaders(hm) where hm.uri == "/api/ota" && hm.method == "POST":
        guard try access.allows(conn, hm, manager, write: true) else { return true }
        try beginUpdate(conn, hm)
        return true
    case let .httpBody(piece):
        guard let upload = conn.userdata(as: ImageUpload.self) else { return false }
        if upload.refusal == nil {
            do throws(OtaError) {
                try updates?.write(piece)
            } catch {
                upload.refusal = error
                release(conn)  // a refused write dropped the image: the next update may begin
            }
        }
        return true
    case let .httpMessage(hm):
        if let upload = conn.userdata(as: ImageUpload.self) {
            conn.userdata = nil
            try endUpdate(conn, upload)
            return true
        }
        if hm.uri == "/api/ota" && hm.method == "POST" { return true }  // refused at its headers
        confirmHealth()
        guard hm.uri == "/api/version" else { return false }
        guard try access.allows(conn, hm, manager) else { return true }
        try conn.reply(200, versionAnswer(), headers: updateHeaders)
        return true
    case .close:
        if conn == updateOwner {  // the client left mid-image: nothing of it stays
            updates?.abort()
            updateOwner = nil
        }
        return false
    default:
        return false
    }
}

private func beginUpdate(_ conn: Connection, _ hm: HttpMessage) throws(ConnectionError) {
    guard updates != nil else { return try refuse(conn, 404, "updates are off (no --ota-root)") }
    guard !installedNext else { return try refuse(conn, 409, "restarting into the release just installed") }
    guard let length = hm.contentLength else { return try refuse(conn, 411, "send the image with a Content-Length") }
    guard length <= UInt64(Int.max) else { return try refuse(conn, 413, OtaError.tooLarge.description) }
    guard let sha = hm.header("X-Ota-Sha256").flatMap({ Crypto.unhex($0) }), sha.count == Sha256.digestCount else {
        return try refuse(conn, 400, "X-Ota-Sha256: the image's SHA-256 in hex")
    }
    guard let signature = hm.header("X-Ota-Signature").flatMap({ Base64.decode($0) }) else {
        return try refuse(conn, 400, "X-Ota-Signature: the signature in base64")
    }
    do throws(OtaError) {
        try updates?.begin(size: Int(length), sha256: sha, signature: signature)
    } catch {
        return try refuse(conn, status(of: error), error.description)
    }
    updateOwner = conn
    conn.userdata = ImageUpload()
    conn.streamRequestBody()
}

private func endUpdate(_ conn: Connection, _ upload: ImageUpload) throws(ConnectionError) {
    release(conn)
    if let refusal = upload.refusal { return try refuse(conn, status(of: refusal), refusal.description) }
    let id: String
    do throws(OtaError) {
        id = try updates?.end() ?? ""
    } catch {
        return try refuse(conn, status(of: error), error.description)
    }
    print("ota: release \(id) installed; restarting into it")
    try conn.reply(200, jsonObject { $0.add("release", id) }, headers: updateHeaders)
    conn.drain()
    restartIntoNewRelease()
}

/// `conn` no longer holds the update (its image was refused or has ended). Only the
/// holder lets go: an upload refused mid-image, whose body still came in while another
/// upload (or a pull) began, used to clear that one's hold as it ended, and that one's
/// leaving mid-image then left its partial file and the update busy (409) until a restart.
private func release(_ conn: Connection) {
    if conn == updateOwner { updateOwner = nil }
}

/// Installed: the process ends half a second from now (an answer or an MQTT status has
/// time to go out) and the service (ota-launch under systemd) starts the new release.
func restartIntoNewRelease() {
    installedNext = true
    manager.timerAdd(500) { AppOptions.exitProcess(0) }
}

/// An install has swapped `current` to the next release, which only its own start may
/// confirm: nothing this process sees from now on says that release works. No other
/// update begins either (an upload is refused 409, a pull is "busy"): a second install
/// in the half second before the exit made the first one, never run, `previous`, and the
/// confirmed release was then nowhere to roll back to.
private(set) var installedNext = false

/// This release works, and is confirmed, once, at the first of: a request it served, its
/// MQTT link up (MqttLink.swift), an answer from its update server (OtaPull.swift). A
/// board updated by a pull or an MQTT command may see no visitor for days; confirming on
/// served requests alone rolled a good pulled update back after OTA_CONFIRM_SECONDS.
private var healthConfirmed = false
func confirmHealth() {
    guard !healthConfirmed, !installedNext, let releases = updates?.releases else { return }
    healthConfirmed = true
    do throws(FileError) {
        try releases.confirm()  // and removes the releases neither current nor previous
    } catch {
        print("ota: cannot confirm the release (or remove old ones): \(error)")
    }
    otaStatus = OtaStatus(releases)
    link?.publishStatus()  // the broker's retained status says confirmed at once
}

private func versionAnswer() -> [UInt8] {
    jsonObject { o in
        o.add("version", Meerkat.version)
        let releases = updates?.releases
        if let id = releases?.current() { o.add("release", id) } else { o.addNull("release") }
        o.add("confirmed", releases.map { r in r.current().map { r.isConfirmed($0) } ?? false } ?? false)
        if let id = releases?.previous() { o.add("previous", id) } else { o.addNull("previous") }
        if let report = releases?.rollbackReport() { o.add("rollback", report) } else { o.addNull("rollback") }
        if let puller { o.add("pull", puller.outcome) } else { o.addNull("pull") }  // OtaPull.swift
    }
}

private func status(of error: OtaError) -> Int {
    switch error {
    case .tooLarge: return 413
    case .busy, .rejectedRelease: return 409
    case .storage, .badKey: return 500
    default: return 400
    }
}

private func refuse(_ conn: Connection, _ status: Int, _ why: String) throws(ConnectionError) {
    print("ota: refused (\(status)): \(why)")
    try conn.replyError(status, jsonObject { $0.add("error", why) }, headers: updateHeaders)
}
