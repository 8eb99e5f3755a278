// upload-server: streams uploads to files, of any size, without holding them in memory.
//   POST or PUT /upload/<name>   body (Content-Length or chunked) -> <dir>/<name>, written
//                                to <name>.part and renamed into place when complete;
//                                answers 201 "<bytes> <crc32 hex>"
//   POST /config                 a form (interval=…&label=…) -> answers what it read
//   GET  /health                 "ok"
// Flags: the common ones (--listen, --dir PATH, …). Shows streamRequestBody, File,
// formVar, the Router, and an early answer in .httpHeaders (a bad name gets one 400).
import Meerkat

final class Upload {
    let file: File
    let name: String
    var size: UInt64 = 0
    var crc: UInt32 = 0xFFFF_FFFF
    init(file: File, name: String) { self.file = file; self.name = name }
}

let crcTable: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

func hex(_ v: UInt32) -> String {
    let digits: StaticString = "0123456789abcdef"
    var out: [UInt8] = []
    for shift in stride(from: 28, through: 0, by: -4) { out.append(digits.utf8Start[Int((v >> UInt32(shift)) & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// Letters, digits, '.', '-', '_', not starting with '.': no path can escape the folder.
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
            try? conn.reply(400, "bad file name\n")   // ends the request here: one answer, no .httpMessage
            return
        }
        let name = captures[0].string
        do throws(FileError) {
            conn.userdata = Upload(file: try File.create(options.dir + "/" + name + ".part"), name: name)
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
        for i in 0..<piece.count {
            upload.crc = crcTable[Int((upload.crc ^ UInt32(piece[i])) & 0xFF)] ^ (upload.crc >> 8)
        }
    case let .httpMessage(hm):
        guard let upload = conn.userdata(as: Upload.self) else {
            if !router.handle(conn, hm) { try? conn.reply(404, "Not Found\n") }
            return
        }
        conn.userdata = nil
        upload.file.close()
        let path = options.dir + "/" + upload.name
        do throws(FileError) {
            try File.rename(path + ".part", to: path)
        } catch {
            try? conn.reply(500, "cannot store the file\n")
            return
        }
        try? conn.reply(201, "\(upload.size) \(hex(~upload.crc))\n")   // a failure is answered 500
    case .close:
        if let upload = conn.userdata(as: Upload.self) {   // an upload cut short
            upload.file.close()
            try? File.remove(options.dir + "/" + upload.name + ".part")
        }
    default:
        break
    }
}
options.listenAll(manager)
manager.run()
