// upload-server: streams uploads to files, of any size, without holding them in memory.
//   POST or PUT /upload/<name>   body (Content-Length or chunked) -> <dir>/<name>, written
//                                to a temporary file of its own and renamed into place
//                                when complete (the library's Upload); answers 201
//                                "<bytes> <crc32 hex>", or the error's status and words
//   POST /config                 a form (interval=…&label=…) -> answers what it read
//   GET  /health                 "ok"
// Flags: the common ones (--listen, --dir PATH, …). Shows streamRequestBody, Upload,
// formVar, the Router, and an early answer in .httpHeaders (a bad name gets one 400:
// a plain name, percent-decoded, no "/", not starting with ".").
//
// Two uploads of one name at once: each writes its own temporary, and the last to end
// is what stays (an atomic rename: the file is always one whole upload). Each 201 tells
// the size and CRC of the bytes that upload stored. A temporary left by kill -9 is
// removed at the next start.
import Meerkat
import MeerkatApp

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
        do throws(UploadError) {
            // The name as the URL gives it, percent-decoded once; "a%2Fb" is "a/b", refused.
            let name = URLEncoding.decode(captures[0], plusAsSpace: false) ?? ""
            conn.userdata = try Upload.body(hm, name: name, folder: options.dir)
            conn.streamRequestBody()
        } catch {
            try? conn.reply(error.status, "\(error)\n")  // ends the request here: one answer, no .httpMessage
        }
    case let .httpBody(piece):
        do throws(UploadError) {
            try conn.userdata(as: Upload.self)?.write(piece)
        } catch {
            try? conn.reply(error.status, "\(error)\n")  // the temporary is gone already
            conn.drain()
        }
    case let .httpMessage(hm):
        guard let upload = conn.userdata(as: Upload.self) else {
            if !router.handle(conn, hm) { try? conn.replyError(404, "Not Found\n") }
            return
        }
        conn.userdata = nil
        do throws(UploadError) {
            // True when said: this upload's bytes were the whole file at its rename (a
            // later upload of the name may replace them, whole, and is answered in turn).
            let stored = try upload.finish()
            try? conn.reply(201, "\(stored.bytes) \(stored.crc.hex)\n")
        } catch {
            try? conn.reply(error.status, "\(error)\n")
        }
    default:
        break  // an upload cut short is dropped with the connection's userdata: its temporary goes
    }
}
// What a kill -9 or a power cut left half written; before any upload can start.
let stale = File.removeTemporaries(in: options.dir)
if stale > 0 { print("removed \(stale) unfinished upload(s)") }
options.listenAll(manager)
manager.run()
