/// A file received over HTTP, stored whole or not at all (what Mongoose's
/// `mg_http_upload` is for, written here for streamed bodies and power cuts). Fed the
/// pieces of a streamed request body (`streamRequestBody()`, then `.httpBody`), it
/// writes them to a temporary of its own beside the file (`File.createTemporary`:
/// O_EXCL, a random suffix), and `finish()` syncs it and renames it over the name
/// (`File.replace`, the folder synced too). So two uploads of one name never mix: the
/// last to finish is the file, whole, and each `Stored` gives the size and CRC-32 of
/// the bytes that upload put there. One cut short (the client leaves, the body is bad,
/// the limit is passed) leaves nothing: its temporary is removed when the upload is
/// dropped (the connection's `userdata` is cleared at close) or fails; one a kill -9
/// left is removed by `File.removeTemporaries(in:)` at the next start.
///
///     case let .httpHeaders(hm) where hm.uri == "/upload":
///         do throws(UploadError) {
///             conn.userdata = try Upload.form(hm, folder: dir, limit: 8 << 20)
///             conn.streamRequestBody()
///         } catch { try? conn.reply(error.status, error.description) }
///     case let .httpBody(piece):
///         try? conn.userdata(as: Upload.self)?.write(piece)   // a failure waits for finish()
///     case .httpMessage:
///         guard let upload = conn.userdata(as: Upload.self) else { break }
///         conn.userdata = nil
///         do throws(UploadError) {
///             let stored = try upload.finish()
///             try? conn.reply(200, "\(stored.bytes) \(stored.crc.hex)\n")
///         } catch { try? conn.reply(error.status, error.description) }
///
/// Nothing of the body is held in memory; an upload costs the object, its two paths and
/// (a form) a 1 KiB scratch for a part's headers, none of it per piece.
public final class Upload {
    /// What an upload stored: its name in the folder, and the size and CRC-32 of the
    /// bytes that were the whole file when it was renamed into place.
    public struct Stored {
        public let name: String
        public let bytes: UInt64
        public let crc: Crc32
    }

    /// The longest name kept, in UTF-8 bytes (a temporary adds 15 to it, within the
    /// 255 a Linux file name may have).
    public static let maxNameLength = 128
    /// Bytes a form part's header block may take.
    static let partHeaderBytes = 1024

    private let folder: String
    private let limit: UInt64
    /// A form's reader and its header scratch; nil when the body is the file.
    private var reader: MultipartReader?
    private let scratch: UnsafeMutableRawBufferPointer?
    private var file: File? = nil
    private var name = ""
    /// The file being written until it is renamed over `name` ("" once kept or removed).
    private var temporary = ""
    /// A form's file part has ended (a body's file ends with the body).
    private var partDone = false
    private var bytes: UInt64 = 0
    private var crc = Crc32()
    /// The first failure; every later piece is dropped and `finish()` throws it.
    public private(set) var error: UploadError? = nil

    /// An upload whose request body is the file (PUT or POST of the bytes themselves,
    /// Content-Length or chunked), stored as `folder/name`. `name` must be a plain name
    /// (`validName`): `.badName` otherwise. A declared Content-Length over `limit` is
    /// refused at once (`.tooLarge`, nothing created); a body that passes it while it
    /// comes fails then.
    public static func body(
        _ hm: HttpMessage, name: String, folder: String, limit: UInt64 = .max
    ) throws(UploadError) -> Upload {
        try refuseDeclaredLength(hm, over: limit)
        guard let plain = validName(name) else { throw .badName }
        let upload = Upload(folder: folder, limit: limit, reader: nil, scratch: nil)
        try upload.create(plain)
        return upload
    }

    /// An upload sent as a browser's form sends a file (`multipart/form-data`, RFC 7578):
    /// the body's one file part is stored in `folder` under the last path segment of its
    /// file name (browsers on some systems send a whole path), if that is a plain name
    /// (`.badName` otherwise); plain fields are passed over, a second file part is
    /// `.tooManyFiles`. `.notMultipart` when the request is not a form with a boundary;
    /// a declared Content-Length over `limit` is `.tooLarge` at once (it counts the
    /// form's framing too), and file bytes past it fail the upload as they come.
    public static func form(_ hm: HttpMessage, folder: String, limit: UInt64 = .max) throws(UploadError) -> Upload {
        try refuseDeclaredLength(hm, over: limit)
        guard let type = hm.header("Content-Type") else { throw .notMultipart }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: partHeaderBytes, alignment: 8)
        // The boundary is a view of the Content-Type, which stays at the front of the
        // receive block while the body streams.
        guard let reader = MultipartReader(contentType: type, scratch: scratch) else {
            scratch.deallocate()
            throw .notMultipart
        }
        return Upload(folder: folder, limit: limit, reader: reader, scratch: scratch)
    }

    private init(folder: String, limit: UInt64, reader: MultipartReader?, scratch: UnsafeMutableRawBufferPointer?) {
        self.folder = folder
        self.limit = limit
        self.reader = reader
        self.scratch = scratch
    }

    deinit {
        discard()
        scratch?.deallocate()
    }

    private static func refuseDeclaredLength(_ hm: HttpMessage, over limit: UInt64) throws(UploadError) {
        if case let .length(n) = hm.head.body, n > limit { throw .tooLarge }
    }

    /// `raw` if it is a name an upload may take: 1 to `maxNameLength` bytes of valid
    /// UTF-8 with no "/", "\", NUL or other control byte, not starting with "." (no
    /// "..", no hidden file, never a temporary's name). Nil otherwise.
    public static func validName(_ raw: String) -> String? {
        let ok = raw.withBytes { b in
            guard b.count > 0, b.count <= maxNameLength, b[0] != UInt8(ascii: ".") else { return false }
            var utf8 = Utf8Validator()
            guard utf8.feed(b.baseAddress!.assumingMemoryBound(to: UInt8.self), b.count), utf8.isComplete else {
                return false
            }
            return !b.contains { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }
        }
        return ok ? raw : nil
    }

    /// The last segment of a browser's file name ("C:\\a\\b.txt", "dir/b.txt": "b.txt").
    static func lastSegment(_ v: ByteView) -> ByteView {
        var start = v.count
        while start > 0 && v[start - 1] != UInt8(ascii: "/") && v[start - 1] != UInt8(ascii: "\\") { start -= 1 }
        return v.slice(start, v.count)
    }

    /// The next piece of the body. Throws the upload's failure (now or an earlier one);
    /// the pieces after it are dropped, and `finish()` throws it again.
    public func write(_ piece: ByteView) throws(UploadError) {
        if error == nil {
            if reader != nil {
                feedForm(piece)
            } else {
                append(piece)
            }
        }
        if let error { throw error }
    }

    private func feedForm(_ piece: ByteView) {
        let ok = reader!.feed(piece) { ev in
            guard error == nil else { return }
            switch ev {
            case let .part(_, filename, _):
                guard !filename.isEmpty else { return }  // a plain field: passed over
                guard name.isEmpty, !partDone else { return fail(.tooManyFiles) }
                guard let plain = Upload.validName(Upload.lastSegment(filename).string) else { return fail(.badName) }
                do throws(UploadError) { try create(plain) } catch { fail(error) }
            case let .data(v):
                if file != nil { append(v) }
            case .partEnd:
                guard file != nil else { return }
                closeFile()
                partDone = true
            }
        }
        if !ok && error == nil { fail(.malformed) }
    }

    /// The body has ended: stores the file (sync, rename over the name, sync the folder)
    /// and says what it stored. Throws, with nothing left behind, when the upload failed
    /// or a form held no file.
    public func finish() throws(UploadError) -> Stored {
        if error == nil, reader != nil {
            if !reader!.finish() {
                fail(.malformed)
            } else if !partDone {
                fail(.noFile)
            }
        }
        if error == nil && reader == nil { closeFile() }
        if error == nil {
            do throws(FileError) {
                try File.replace(folder + "/" + name, with: temporary)
                temporary = ""  // kept: nothing to remove
            } catch {
                fail(.storage(error))
            }
        }
        if let error { throw error }
        // These bytes were the whole file at its rename; a later upload of the name may
        // replace them, whole, and gets its own answer.
        return Stored(name: name, bytes: bytes, crc: crc)
    }

    private func create(_ plain: String) throws(UploadError) {
        do throws(FileError) {
            let made = try File.createTemporary(for: folder + "/" + plain)
            file = made.file
            temporary = made.path
            name = plain
        } catch {
            throw .storage(error)
        }
    }

    private func append(_ v: ByteView) {
        guard let file else { return }
        bytes += UInt64(v.count)
        guard bytes <= limit else { return fail(.tooLarge) }
        do throws(FileError) {
            try file.write(v)
            crc.update(v)
        } catch {
            fail(.storage(error))
        }
    }

    /// Syncs and closes the file: its bytes are on the storage before any rename.
    private func closeFile() {
        guard let f = file else { return }
        file = nil
        do throws(FileError) { try f.sync() } catch { fail(.storage(error)) }
        f.close()
    }

    /// Records the first failure and removes the temporary at once, so nothing
    /// half-written is there when the answer goes out.
    private func fail(_ e: UploadError) {
        if error == nil { error = e }
        discard()
    }

    private func discard() {
        file?.close()
        file = nil
        if !temporary.isEmpty { try? File.remove(temporary) }
        temporary = ""
    }
}

/// Why an upload was refused or not stored; `status` is the HTTP answer it calls for,
/// `description` words a client can be shown.
public enum UploadError: Error, Equatable {
    /// `Upload.form` of a request that is not `multipart/form-data` with a boundary.
    case notMultipart
    /// A form body that breaks multipart framing (a bad delimiter, no final one, a part
    /// header that is not one or is larger than 1 KiB).
    case malformed
    /// A form with no file part.
    case noFile
    /// A form with more than one file part.
    case tooManyFiles
    /// A name that is not a plain one (`Upload.validName`).
    case badName
    /// More bytes than the limit, declared or received.
    case tooLarge
    /// The file could not be created, written, synced or renamed into place.
    case storage(FileError)

    /// 413 for `.tooLarge`, 500 for `.storage` (the board's fault, not the client's),
    /// 400 for the rest.
    public var status: Int {
        switch self {
        case .tooLarge: return 413
        case .storage: return 500
        default: return 400
        }
    }
}

extension UploadError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notMultipart: return "not multipart/form-data"
        case .malformed: return "malformed multipart body"
        case .noFile: return "no file in the form"
        case .tooManyFiles: return "one file per upload"
        case .badName: return "bad file name"
        case .tooLarge: return "larger than the limit"
        case let .storage(e): return "cannot store the file: " + e.description
        }
    }
}
