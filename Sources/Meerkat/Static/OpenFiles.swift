import CMeerkat

/// Files `serveDir` opened lately, kept open (nginx's open_file_cache, small and fixed):
/// a request for one of them within `validMs` of its last check makes no system call
/// before the read; after that one stat(2) of the path says whether it is still the
/// same file (inode, size, time), else it is opened again, through the same inside-the-
/// root check. Failures (no such file, outside the root) are kept the same way. Entries
/// belong to one root (a new root starts them over), so a path is never served under a
/// root it was not checked against. 16 entries, each with its path (up to 512 bytes;
/// longer paths are opened each time).
struct OpenFiles {
    static let capacity = 16
    static let maxPath = 512
    static let validMs: Int64 = 1000

    struct Entry {
        var fd: Int32 = -1
        var error: Int32 = 0  // -errno of the open, when it failed
        var info = mk_file_info()
        var length = 0  // bytes of the path; 0: free
        var root: UInt32 = 0  // which root it was checked against
        var checked: Int64 = 0
        var used: Int64 = 0
    }

    let entries: UnsafeMutablePointer<Entry>
    let paths: UnsafeMutablePointer<UInt8>

    init() {
        entries = .allocate(capacity: OpenFiles.capacity)
        entries.initialize(repeating: Entry(), count: OpenFiles.capacity)
        paths = .allocate(capacity: OpenFiles.capacity * OpenFiles.maxPath)
    }

    /// The entry for `path` (without its NUL) under `root`, if kept.
    func find(_ path: UnsafePointer<UInt8>, _ length: Int, root: UInt32) -> Int? {
        for i in 0..<OpenFiles.capacity where entries[i].length == length && entries[i].root == root {
            if memcmp(paths + i * OpenFiles.maxPath, path, length) == 0 { return i }
        }
        return nil
    }

    /// Keeps the result of an open (an fd, or -errno) for `path`; false when the path is
    /// too long to keep (the caller then owns the fd).
    mutating func keep(
        _ path: UnsafePointer<UInt8>, _ length: Int, root: UInt32, result: Int32,
        info: mk_file_info, now: Int64
    ) -> Int? {
        guard length > 0, length <= OpenFiles.maxPath else { return nil }
        var slot = 0
        for i in 0..<OpenFiles.capacity {
            if entries[i].length == 0 { slot = i; break }
            if entries[i].used < entries[slot].used { slot = i }
        }
        drop(slot)
        (paths + slot * OpenFiles.maxPath).update(from: path, count: length)
        entries[slot] = Entry(
            fd: max(result, -1), error: result < 0 ? result : 0, info: info, length: length,
            root: root, checked: now, used: now)
        return slot
    }

    mutating func drop(_ i: Int) {
        if entries[i].fd >= 0 { _ = CMeerkat.close(entries[i].fd) }
        entries[i] = Entry()
    }

    func deallocate() {
        for i in 0..<OpenFiles.capacity where entries[i].fd >= 0 { _ = CMeerkat.close(entries[i].fd) }
        entries.deallocate()
        paths.deallocate()
    }
}

extension Manager {
    /// `openBelow` through the cache: the fd or -errno, with the file's facts in `info`.
    /// `length` is the path's length in `staticPath` (NUL-terminated there). `owned`
    /// says whether the caller must close the fd (a path too long to keep); a kept fd
    /// belongs to the cache.
    func openKept(_ length: Int, _ info: inout mk_file_info, owned: inout Bool) -> Int32 {
        owned = false
        if let i = services.openFiles.find(services.staticPath, length, root: services.staticRootSerial) {
            let e = services.openFiles.entries[i]
            if now - e.checked < OpenFiles.validMs {
                services.openFiles.entries[Int(i)].used = now
                info = e.info
                return e.error < 0 ? e.error : e.fd
            }
            var current = mk_file_info()
            let err = services.staticPath.withMemoryRebound(to: CChar.self, capacity: length + 1) { mk_stat_path($0, &current) }
            let same =
                e.error < 0
                ? err == e.error
                : err == 0 && current.inode == e.info.inode && current.size == e.info.size && current.mtime == e.info.mtime
            if same {
                services.openFiles.entries[i].checked = now
                services.openFiles.entries[i].used = now
                info = e.info
                return e.error < 0 ? e.error : e.fd
            }
            services.openFiles.drop(i)
        }
        let fd = openBelow(&info)
        if services.openFiles.keep(services.staticPath, length, root: services.staticRootSerial, result: fd, info: info, now: now) == nil {
            owned = fd >= 0
        }
        return fd
    }
}
