import Glibc
import Testing

@testable import Meerkat

/// The library's upload helper: a body or a form's file stored whole under a plain name,
/// or nothing stored, with the error the app answers with.
@Suite(.serialized) final class UploadTests {
    let dir = "/tmp/meerkat-upload-test-\(getpid())"

    init() { mkdir(dir, 0o755) }

    deinit {
        _ = listAndClear()
        rmdir(dir)
    }

    /// The names in the folder (temporaries included), sorted.
    func names() -> [String] {
        guard let d = opendir(dir) else { return [] }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)
        return names.sorted()
    }

    /// The temporaries in the folder (hidden names: no upload may take one).
    func temporaries() -> Int { names().filter { $0.hasPrefix(".") }.count }

    /// `names()`, then empties the folder.
    func listAndClear() -> [String] {
        let all = names()
        for name in all { unlink(dir + "/" + name) }
        return all
    }

    /// A request head as a handler sees it, for `body` (which may throw).
    func withRequest<R>(_ text: String, _ body: (HttpMessage) throws(UploadError) -> R) throws(UploadError) -> R {
        try withMessage(text) { hm in
            do throws(UploadError) { return Result<R, UploadError>.success(try body(hm)) } catch { return .failure(error) }
        }.get()
    }

    func feed(_ upload: Upload, _ text: String, pieceSize: Int) throws(UploadError) {
        let failure: UploadError? = Array(text.utf8).withUnsafeBytes { all in
            var at = 0
            while at < all.count {
                let end = min(at + pieceSize, all.count)
                do throws(UploadError) {
                    try upload.write(ByteView(UnsafeRawBufferPointer(rebasing: all[at..<end])))
                } catch {
                    return error
                }
                at = end
            }
            return nil
        }
        if let failure { throw failure }
    }

    static func crc(_ text: String) -> String {
        var c = Crc32()
        Array(text.utf8).withUnsafeBytes { c.update(ByteView($0)) }
        return c.hex
    }

    @Test func plainNamesOnly() {
        for good in ["a.bin", "firmware v2.bin", "naïve – ü.txt", "x..y", String(repeating: "n", count: 128)] {
            #expect(Upload.validName(good) == good, "\(good)")
        }
        for bad in ["", ".", "..", ".hidden", "../x", "a/b", "a\\b", "tab\there", "nul\u{0}", "del\u{7F}", String(repeating: "n", count: 129)] {
            #expect(Upload.validName(bad) == nil, "\(bad)")
        }
        for (raw, last) in [("C:\\Users\\me\\a.txt", "a.txt"), ("dir/b.txt", "b.txt"), ("c", "c"), ("d/", "")] {
            #expect(Array(raw.utf8).withUnsafeBytes { Upload.lastSegment(ByteView($0)).string } == last)
        }
    }

    @Test func aBodyIsStoredWholeWithItsSizeAndCrc() throws {
        let text = String(repeating: "0123456789", count: 1000)
        let stored = try withRequest("PUT /upload/a.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n") { hm throws(UploadError) in
            let upload = try Upload.body(hm, name: "a.bin", folder: dir)
            try feed(upload, text, pieceSize: 777)
            #expect(temporaries() == 1)  // written to its own temporary until finish
            return try upload.finish()
        }
        #expect(stored.name == "a.bin" && stored.bytes == 10_000 && stored.crc.hex == UploadTests.crc(text))
        #expect((try? File.contents(dir + "/a.bin")) == Array(text.utf8))
        #expect(listAndClear() == ["a.bin"])
    }

    @Test func overTheLimitDeclaredOrReceivedLeavesNothing() throws {
        let head = "PUT /upload/big HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
        #expect(throws: UploadError.tooLarge) {
            try withRequest(head) { hm throws(UploadError) in _ = try Upload.body(hm, name: "big", folder: dir, limit: 10) }
        }
        #expect(listAndClear() == [])  // refused before anything was made
        let chunked = "PUT /upload/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        try withRequest(chunked) { hm throws(UploadError) in
            let upload = try Upload.body(hm, name: "big", folder: dir, limit: 10)
            try feed(upload, "0123456789", pieceSize: 4)
            #expect(throws: UploadError.tooLarge) { try feed(upload, "!", pieceSize: 1) }
            #expect(upload.error == .tooLarge && upload.error?.status == 413)
            #expect(listAndClear() == [])  // the temporary is gone at the failure, before any answer
            #expect(throws: UploadError.tooLarge) { _ = try upload.finish() }
        }
        #expect(throws: UploadError.badName) {
            try withRequest(head) { hm throws(UploadError) in _ = try Upload.body(hm, name: "../etc/passwd", folder: dir) }
        }
    }

    @Test func anUploadDroppedBeforeItsEndLeavesNothing() throws {
        try withRequest("PUT /upload/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n") { hm throws(UploadError) in
            var upload: Upload? = try Upload.body(hm, name: "cut", folder: dir)
            try feed(upload!, "half", pieceSize: 2)
            #expect(temporaries() == 1)
            upload = nil  // the connection closed: its userdata goes
            #expect(listAndClear() == [])
        }
    }

    static let formType = "Content-Type: multipart/form-data; boundary=XyZ\r\n"

    static func form(_ parts: [(name: String, filename: String?, data: String)]) -> String {
        var body = ""
        for p in parts {
            body += "--XyZ\r\nContent-Disposition: form-data; name=\"\(p.name)\""
            if let f = p.filename { body += "; filename=\"\(f)\"" }
            body += "\r\n\r\n" + p.data + "\r\n"
        }
        return body + "--XyZ--\r\n"
    }

    @Test func aFormsFileIsStoredUnderItsLastSegmentForEverySplit() throws {
        let data = "line one\r\n--Xy almost\r\nline three"
        let body = UploadTests.form([("note", nil, "a plain field"), ("file", "C:\\docs\\report.txt", data)])
        for size in [1, 3, 7, 64, body.utf8.count] {
            let stored = try withRequest("POST /api/upload HTTP/1.1\r\nHost: x\r\n" + UploadTests.formType + "\r\n") { hm throws(UploadError) in
                let upload = try Upload.form(hm, folder: dir)
                try feed(upload, body, pieceSize: size)
                return try upload.finish()
            }
            #expect(stored.name == "report.txt" && stored.bytes == UInt64(data.utf8.count) && stored.crc.hex == UploadTests.crc(data))
            #expect((try? File.contents(dir + "/report.txt")) == Array(data.utf8))
            #expect(listAndClear() == ["report.txt"], "split \(size)")
        }
    }

    @Test func badFormsGetTheirErrorAndLeaveNothing() throws {
        let cases: [(String, UploadError)] = [
            (UploadTests.form([("note", nil, "no file")]), .noFile),
            (UploadTests.form([("f", "a.txt", "one"), ("g", "b.txt", "two")]), .tooManyFiles),
            (UploadTests.form([("f", ".profile", "hidden")]), .badName),
            (UploadTests.form([("f", "../", "a folder")]), .badName),
            ("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XyZ\r\n", .malformed),
            ("--XyZ\r\nnot a header\r\n\r\nhi\r\n--XyZ--\r\n", .malformed),
        ]
        for (body, expected) in cases {
            let got = withMessage("POST /api/upload HTTP/1.1\r\nHost: x\r\n" + UploadTests.formType + "\r\n") { hm -> UploadError? in
                do throws(UploadError) {
                    let upload = try Upload.form(hm, folder: dir)
                    try? feed(upload, body, pieceSize: 5)
                    _ = try upload.finish()
                    return nil
                } catch {
                    return error
                }
            }
            #expect(got == expected && got?.status == 400, "\(body)")
            #expect(listAndClear() == [], "\(body)")
        }
        #expect(throws: UploadError.notMultipart) {
            try withRequest("POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\r\n") { hm throws(UploadError) in
                _ = try Upload.form(hm, folder: dir)
            }
        }
        #expect(UploadError.storage(.system(ENOSPC)).status == 500)
        #expect("\(UploadError.storage(.system(ENOSPC)))" == "cannot store the file: no space left on the device (ENOSPC)")
    }

    /// Two uploads of one name, interleaved: each its own temporary; the last to finish
    /// is the file, whole, and each says what it stored.
    @Test func theLastOfTwoSameNameUploadsWinsWhole() throws {
        let head = "PUT /upload/same HTTP/1.1\r\nHost: x\r\n\r\n"
        let (a, b) = (String(repeating: "a", count: 3000), String(repeating: "b", count: 2000))
        try withRequest(head) { hm throws(UploadError) in
            let first = try Upload.body(hm, name: "same", folder: dir)
            let second = try Upload.body(hm, name: "same", folder: dir)
            try feed(first, String(a.prefix(1000)), pieceSize: 100)
            try feed(second, b, pieceSize: 100)
            try feed(first, String(a.dropFirst(1000)), pieceSize: 100)
            let storedB = try second.finish()
            #expect((try? File.contents(dir + "/same")) == Array(b.utf8))
            let storedA = try first.finish()
            #expect(storedB.bytes == 2000 && storedA.bytes == 3000 && storedA.crc.hex == UploadTests.crc(a))
        }
        #expect((try? File.contents(dir + "/same")) == Array(a.utf8))
        #expect(listAndClear() == ["same"])
    }
}
