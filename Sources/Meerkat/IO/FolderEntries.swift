import CMeerkat

/// One entry of a folder being listed (`File.list`), valid during the call that hands
/// it over: the name lies in the lister's one buffer, which the next entry overwrites.
public struct FolderEntry {
    /// The name (no path); `name.string` copies it, to keep.
    public let name: ByteView
    /// A folder, or a link to one.
    public let isFolder: Bool
    /// Bytes (of what a link leads to); 64-bit on every board.
    public let size: UInt64
    /// Last modification, in seconds since 1970-01-01 UTC (`HttpDate` formats it).
    public let mtime: Int64
}

extension File {
    /// Calls `body` with each entry of `folder` ("." and ".." left out, and the
    /// temporaries of files still being written, `createTemporary`'s), in the order the
    /// filesystem gives them. Nothing is allocated per entry: one name buffer and the
    /// system's folder reader per listing. A handler may list a folder inside `body`
    /// (each listing reads on its own). Throws when `folder` cannot be opened or read
    /// (`.system(ENOTDIR)` for a file).
    public static func list(_ folder: String, _ body: (FolderEntry) -> Void) throws(FileError) {
        let fd = folder.withCString { mk_open_read($0) }
        guard fd >= 0 else { throw .system(-fd) }
        try list(fd: fd, temporaries: false, body)
    }

    /// Lists the open folder `fd`, which it closes: what `list(_:_:)` and the static
    /// files' folder pages share. `temporaries`: hand those over too (to remove them).
    static func list(fd: Int32, temporaries: Bool, _ body: (FolderEntry) -> Void) throws(FileError) {
        var err: Int32 = 0
        guard let dir = mk_dir_open(fd, &err) else { throw .system(-err) }
        defer { mk_dir_close(dir) }
        let name = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)  // NAME_MAX and its NUL
        defer { name.deallocate() }
        var info = mk_file_info()
        while true {
            let rc = name.withMemoryRebound(to: CChar.self, capacity: 256) { mk_dir_read(dir, $0, 256, &info) }
            if rc == 0 { return }
            guard rc > 0 else { throw .system(-rc) }
            let entry = FolderEntry(
                name: ByteView(base: name, count: strlen(name)), isFolder: info.is_dir != 0, size: info.size,
                mtime: info.mtime)
            if !temporaries && isTemporary(entry.name.buffer) { continue }
            body(entry)
        }
    }
}
