import CMeerkat

/// What a file operation failed with: the system's errno, or a file larger than the
/// buffer it was to be read into.
public enum FileError: Error, Equatable {
    case system(Int32)
    case tooLarge
}

extension FileError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .system(code): return systemErrorText(code)
        case .tooLarge: return "the file is larger than the buffer"
        }
    }
}

/// A small file API for apps (Embedded Swift has no Foundation, and `open(2)` is out of
/// reach from Swift): create and write a file, sync it, rename it into place atomically,
/// read a file into a caller's buffer; write a whole new version in a temporary of its
/// own and swap it in (`createTemporary`, `replace`; `removeTemporaries` at start); list
/// a folder (`list`, FolderEntries.swift).
/// Blocking calls: fine for a board's flash or SD card between polls, not for slow
/// network filesystems. The caller closes the file.
public struct File {
    public let fd: Int32

    /// Standard output, for apps that print bytes without making a `String` of them.
    public static let standardOutput = File(fd: 1)

    /// Opens `path` for writing, creating it with `mode` if needed; truncated unless
    /// `append`.
    public static func create(_ path: String, append: Bool = false, mode: UInt32 = 0o644) throws(FileError) -> File {
        let fd = path.withCString { mk_open_write($0, append ? 1 : 0, mode) }
        guard fd >= 0 else { throw .system(-fd) }
        return File(fd: fd)
    }

    /// Makes a folder (one level); succeeds when it is already there.
    public static func makeFolder(_ path: String, mode: UInt32 = 0o755) throws(FileError) {
        let err = path.withCString { mk_mkdir($0, mode) }
        guard err == 0 else { throw .system(-err) }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: some ByteSource) throws(FileError) {
        let rc = bytes.withBytes { mk_write_all(fd, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw .system(-rc) }
    }

    /// Flushes the file to the storage (before a rename that must survive power loss).
    public func sync() throws(FileError) {
        guard fsync(fd) == 0 else { throw .system(mk_errno()) }
    }

    public func close() {
        _ = CMeerkat.close(fd)
    }

    /// Renames `from` to `to`, replacing `to` atomically (same filesystem): write a
    /// temporary file, `sync()`, close it, then rename it over the old one.
    public static func rename(_ from: String, to: String) throws(FileError) {
        let rc = from.withCString { f in to.withCString { CMeerkat.rename(f, $0) } }
        guard rc == 0 else { throw .system(mk_errno()) }
    }

    public static func remove(_ path: String) throws(FileError) {
        guard path.withCString({ unlink($0) }) == 0 else { throw .system(mk_errno()) }
    }

    /// A new, empty file to write the whole of `path` in before `replace(_:with:)` puts
    /// it in place: `<folder>/.<name>.<8 random hex digits>.part`, and its path.
    /// Created exclusively (O_EXCL), so two writers of one name never share a file and a
    /// second never truncates the first's. The leading dot keeps it apart from every name
    /// an app lets a client choose (those never start with a dot), so neither can
    /// overwrite the other, and `removeTemporaries(in:)` can tell it from user files.
    public static func createTemporary(for path: String, mode: UInt32 = 0o644) throws(FileError) -> (file: File, path: String) {
        let (folder, name) = split(path)
        for attempt in 0..<16 {
            var bits: UInt32 = 0
            if withUnsafeMutableBytes(of: &bits, { mk_random($0.baseAddress, 4) }) != 0 {
                bits = UInt32(attempt) &* 0x9E37_79B9  // no random source: O_EXCL still keeps writers apart
            }
            let temporary = folder + "." + name + "." + hex8(bits) + ".part"
            let fd = temporary.withCString { mk_open_new($0, mode) }
            if fd >= 0 { return (File(fd: fd), temporary) }
            guard -fd == EEXIST else { throw .system(-fd) }  // taken: draw another name
        }
        throw .system(EEXIST)
    }

    /// Renames `temporary` over `path` atomically, then syncs the folder so that the new
    /// name survives a power cut too: readers see the old file or the new one, whole.
    /// `sync()` and close the temporary first. With two writers of one name, the last to
    /// call this is what stays.
    public static func replace(_ path: String, with temporary: String) throws(FileError) {
        try rename(temporary, to: path)
        try syncFolder(split(path).folder)
    }

    /// Flushes a folder's entries (a rename, a new or removed name) to the storage.
    public static func syncFolder(_ path: String) throws(FileError) {
        let fd = (path.isEmpty ? "." : path).withCString { mk_open_read($0) }
        guard fd >= 0 else { throw .system(-fd) }
        defer { _ = CMeerkat.close(fd) }
        guard fsync(fd) == 0 else { throw .system(mk_errno()) }
    }

    /// Removes what `createTemporary` left in `folder` when the process was killed
    /// mid-write (call at start, before serving); only names of that exact pattern, never
    /// a user's file. Returns how many were removed.
    @discardableResult
    public static func removeTemporaries(in folder: String) -> Int {
        let fd = folder.withCString { mk_open_read($0) }
        guard fd >= 0 else { return 0 }
        var found: [String] = []  // removed after the listing, not while reading it
        try? list(fd: fd, temporaries: true) { entry in
            if !entry.isFolder && isTemporary(entry.name.buffer) { found.append(entry.name.string) }
        }
        var removed = 0
        for entry in found where (try? remove(folder + "/" + entry)) != nil { removed += 1 }
        return removed
    }

    /// ".<name>.<8 lowercase hex digits>.part", name not empty: `createTemporary`'s
    /// pattern (also kept out of folder listings: a temporary is not a file yet).
    static func isTemporary(_ n: UnsafeRawBufferPointer) -> Bool {
        let dot = UInt8(ascii: "."), c = n.count
        guard c >= 16, n[0] == dot, n[c - 14] == dot,
            ByteView(UnsafeRawBufferPointer(rebasing: n[(c - 5)...])) == ".part"
        else { return false }
        return n[(c - 13)..<(c - 5)].allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The folder part of `path` with its slash ("" when none) and the name after it.
    private static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }

    /// Reads the whole file into `buffer`; returns its length. Throws `.tooLarge` when
    /// the file does not fit.
    public static func read(_ path: String, into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        let fd = path.withCString { mk_open_read($0) }
        guard fd >= 0 else { throw .system(-fd) }
        defer { _ = CMeerkat.close(fd) }
        var total = 0
        while true {
            let room = buffer.count - total
            if room == 0 {
                var probe: UInt8 = 0
                let more = mk_read(fd, &probe, 1)
                if more > 0 { throw .tooLarge }
                return total
            }
            let n = mk_read(fd, buffer.baseAddress! + total, room)
            if n == 0 { return total }
            if n < 0 {
                if -n == Int(EINTR) { continue }
                throw .system(Int32(-n))
            }
            total += n
        }
    }

    /// The whole file as bytes (for start-up reads: certificates, keys, small assets).
    /// Throws `.tooLarge` past `limit` bytes.
    public static func contents(_ path: String, limit: Int = 1 << 20) throws(FileError) -> [UInt8] {
        let fd = path.withCString { mk_open_read($0) }
        guard fd >= 0 else { throw .system(-fd) }
        defer { _ = CMeerkat.close(fd) }
        var bytes: [UInt8] = []
        var chunk = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while true {
            let n = withUnsafeMutableBytes(of: &chunk) { mk_read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return bytes }
            if n < 0 {
                if -n == Int(EINTR) { continue }
                throw .system(Int32(-n))
            }
            guard bytes.count + n <= limit else { throw .tooLarge }
            withUnsafeBytes(of: &chunk) { bytes.append(contentsOf: $0.prefix(n)) }
        }
    }
}
