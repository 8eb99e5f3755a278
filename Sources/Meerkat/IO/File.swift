import CMeerkat

/// What a file operation failed with: the system's errno, or a file larger than the
/// buffer it was to be read into.
public enum FileError: Error, Equatable {
    case system(Int32)
    case tooLarge
}

/// A small file API for apps (Embedded Swift has no Foundation, and `open(2)` is out of
/// reach from Swift): create and write a file, sync it, rename it into place atomically,
/// read a file into a caller's buffer. Blocking calls: fine for a board's flash or SD
/// card between polls, not for slow network filesystems. The caller closes the file.
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
