// upload-server: streams uploads to files, of any size, without holding them in memory.
//   POST or PUT /upload/<name>   body (Content-Length or chunked) -> <dir>/<name>, written
//                                to a temporary file of its own and renamed into place
//                                when complete; answers 201 "<bytes> <crc32 hex>"
//   POST /config                 a form (interval=…&label=…) -> answers what it read
//   GET  /health                 "ok"
// Flags: the common ones (--listen, --dir PATH, …). Shows streamRequestBody, File,
// formVar, the Router, and an early answer in .httpHeaders (a bad name gets one 400).
//
// Two uploads of one name at once: each writes its own temporary, and the last to end
// is what stays (an atomic rename: the file is always one whole upload). Each 201 tells
// the size and CRC of the bytes that upload stored. A temporary left by kill -9 is
// removed at the next start.
import Meerkat

final class Upload {
    let file: File
    let name: String
    let temporary: String  // its own file until it is renamed over `name`
    var size: UInt64 = 0
    var crc = Crc32()
    init(file: File, name: String, temporary: String) {
        self.file = file
        self.name = name
        self.temporary = temporary
    }

    /// Syncs the temporary and renames it over the name: true once stored, durably. On a
    /// failure the temporary is removed, so nothing half-written stays.
    func store(in dir: String) -> Bool {
        let synced = (try? file.sync()) != nil
        file.close()
        if synced && (try? File.replace(dir + "/" + name, with: temporary)) != nil { return true }
        try? File.remove(temporary)
        return false
    }
}

/// Letters, digits, '.', '-', '_', not starting with '.': no path can escape the folder,
/// and no name is ever a temporary's (those start with a dot).
func safeName(_ v: ByteView) -> Bool {
    guard v.count > 0 && v.count <= 128 && v[0] != UInt8(ascii: ".") else { return false }
    for i in 0..<v.count {
        switch v[i] {
        case 48...57, 65...90, 97...122, UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"): continue
        default: return false
        }
    }
    return true
}

let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000")

var router = Router()
router.get("/health") { conn, _, _ in try? conn.reply(200, "ok\n") }
router.post("/config") { conn, hm, _ in
    let interval = hm.formVar("interval") ?? "(none)"
    let label = hm.formVar("label") ?? "(none)"
    try? conn.reply(200, "interval=\(interval) label=\(label)\n")
}

let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    switch ev {
    case let .httpHeaders(hm):
        var captures = Captures()
        guard hm.method == "POST" || hm.method == "PUT", Pattern.match(hm.uri, "/upload/*", captures: &captures) else { return }
        guard safeName(captures[0]) else {
            try? conn.reply(400, "bad file name\n")  // ends the request here: one answer, no .httpMessage
            return
        }
        let name = captures[0].string
        do throws(FileError) {
            let (file, temporary) = try File.createTemporary(for: options.dir + "/" + name)
            conn.userdata = Upload(file: file, name: name, temporary: temporary)
            conn.streamRequestBody()
        } catch {
            try? conn.reply(500, "cannot create the file\n")
        }
    case let .httpBody(piece):
        guard let upload = conn.userdata(as: Upload.self) else { return }
        do throws(FileError) {
            try upload.file.write(piece)
        } catch {
            try? conn.reply(500, "write failed\n")
            conn.drain()
            return
        }
        upload.size += UInt64(piece.count)
        upload.crc.update(piece)
    case let .httpMessage(hm):
        guard let upload = conn.userdata(as: Upload.self) else {
            if !router.handle(conn, hm) { try? conn.reply(404, "Not Found\n") }
            return
        }
        conn.userdata = nil
        guard upload.store(in: options.dir) else {
            try? conn.reply(500, "cannot store the file\n")
            return
        }
        // True when said: this upload's bytes were the whole file at its rename (a later
        // upload of the name may replace them, whole, and is answered in turn).
        try? conn.reply(201, "\(upload.size) \(upload.crc.hex)\n")
    case .close:
        if let upload = conn.userdata(as: Upload.self) {  // an upload cut short
            upload.file.close()
            try? File.remove(upload.temporary)
        }
    default:
        break
    }
}
// What a kill -9 or a power cut left half written; before any upload can start.
let stale = File.removeTemporaries(in: options.dir)
if stale > 0 { print("removed \(stale) unfinished upload(s)") }
options.listenAll(manager)
manager.run()
