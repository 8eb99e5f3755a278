import Meerkat

/// A file uploaded from the dashboard (POST /api/upload, multipart/form-data), streamed
/// part by part into `<dir>/uploads/`: the file part is written to a temporary file of
/// its own (`File.createTemporary`) and renamed into place only once the whole body has
/// been read and found well formed. A body over the limit is refused (413) before or
/// while it comes; a malformed body gets 400 and leaves nothing behind. Nothing of it is
/// held in memory. Two uploads of one name at once: the last to end stays, whole, and
/// each 200 gives the size and CRC-32 of what that upload stored.
final class Upload {
    var reader: MultipartReader
    let scratch: UnsafeMutableRawBufferPointer
    let folder: String
    let limit: UInt64
    var file: File? = nil
    /// The file part's name, and the temporary it is written to until it is renamed
    /// over the name ("" once kept or removed).
    var name = ""
    var temporary = ""
    var done = false
    var bytes: UInt64 = 0
    var crc = Crc32()
    var error: String? = nil

    init?(_ hm: HttpMessage, folder: String, limit: UInt64) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
        guard let type = hm.header("Content-Type"),
            let reader = MultipartReader(contentType: type, scratch: scratch)
        else {
            scratch.deallocate()
            return nil
        }
        self.reader = reader
        self.scratch = scratch
        self.folder = folder
        self.limit = limit
    }

    deinit {
        file?.close()
        if !temporary.isEmpty { try? File.remove(temporary) }  // cut short: nothing stays
        scratch.deallocate()
    }

    /// The last path segment of a browser's file name, if it is a name we can keep.
    static func safeName(_ raw: String) -> String? {
        let last = raw.split(separator: "/").last.map(String.init) ?? ""
        let base = last.split(separator: "\\").last.map(String.init) ?? ""
        guard !base.isEmpty, base != ".", base != "..", !base.hasPrefix("."), base.utf8.count <= 100,
            base.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
        else { return nil }
        return base
    }

    /// One piece of the body; false once the upload has failed (`error` says why).
    func feed(_ piece: ByteView) -> Bool {
        guard error == nil else { return false }
        let ok = reader.feed(piece) { ev in
            guard error == nil else { return }
            switch ev {
            case let .part(_, filename, _):
                guard !filename.isEmpty else { return }  // a plain field: ignored
                guard name.isEmpty, let safe = Upload.safeName(filename.string) else {
                    error = "one file with a plain name, please"
                    return
                }
                name = safe
                do throws(FileError) {
                    let made = try File.createTemporary(for: folder + "/" + safe)
                    file = made.file
                    temporary = made.path
                } catch {
                    self.error = "cannot write in the upload folder"
                }
            case let .data(v):
                guard let file else { return }
                bytes += UInt64(v.count)
                if bytes > limit {
                    error = "larger than the limit"
                } else if (try? file.write(v)) == nil {
                    error = "cannot write the file"
                } else {
                    crc.update(v)
                }
            case .partEnd:
                guard let f = file else { return }
                if (try? f.sync()) == nil { error = "cannot write the file" }  // on the storage before the rename
                f.close()
                file = nil
                done = true
            }
        }
        if !ok && error == nil { error = "malformed multipart body" }
        return error == nil
    }

    /// The body has ended: the answer's status and JSON.
    func finish() -> (Int, [UInt8]) {
        if error == nil && !reader.finish() { error = "malformed multipart body" }
        if error == nil && !done { error = "no file in the form" }
        if error == nil {
            if (try? File.replace(folder + "/" + name, with: temporary)) == nil {
                error = "cannot keep the file"
            } else {
                temporary = ""  // kept: deinit leaves it
            }
        }
        if let error {
            // Nothing half-written stays, and it is gone before the answer goes out.
            file?.close()
            file = nil
            if !temporary.isEmpty { try? File.remove(temporary) }
            temporary = ""
            return (error == "larger than the limit" ? 413 : 400, jsonObject { $0.add("error", error) })
        }
        // These bytes were the whole file at its rename; a later upload of the name may
        // replace them, whole, and gets its own answer.
        return (
            200,
            jsonObject { o in
                o.add("file", name)
                o.add("bytes", bytes)
                o.add("crc32", crc.hex)
            }
        )
    }
}
