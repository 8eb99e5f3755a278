import CMeerkat

/// Web assets compiled into the firmware: a table made at build time by
/// `scripts/pack_web.py` (each file's bytes, a gzip copy when that is smaller, an ETag
/// from a hash of the content), laid out as `mk_packed_file`. `conn.serveDir(hm,
/// packed:)` serves it as `serveDir(hm, root:)` serves a folder: the same validators,
/// ranges, gzip and types, from memory that lives as long as the process.
public struct PackedFS {
    let files: UnsafePointer<mk_packed_file>
    /// Files in the table.
    public let count: Int

    /// `table` and `count` as the generated `SYMBOL(&count)` returns them.
    public init(table: UnsafeRawPointer?, count: Int32) {
        let n = table == nil ? 0 : max(Int(count), 0)
        self.count = n
        files = n > 0 ? table!.assumingMemoryBound(to: mk_packed_file.self) : UnsafePointer(bitPattern: 8)!
    }

    /// Bytes of data the table carries: each file as it is, plus its gzip copy.
    public var dataBytes: Int {
        var total = 0
        for i in 0..<count { total += Int(files[i].size) + Int(files[i].gzip_size) }
        return total
    }

    /// The index of the file at `path` (no leading "/"); the table is sorted by path.
    func find(_ path: ByteView) -> Int? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            let name = files[mid].path!
            let c = PackedFS.compare(name, path)
            if c == 0 { return mid }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// strcmp of a C string against a view (bytes compared unsigned).
    private static func compare(_ a: UnsafePointer<CChar>, _ b: ByteView) -> Int {
        let p = UnsafeRawPointer(a).assumingMemoryBound(to: UInt8.self)
        var i = 0
        while true {
            let x = p[i]
            let y: UInt8 = i < b.count ? b.buffer[i] : 0
            if x == 0 && i >= b.count { return 0 }
            if x != y || x == 0 { return Int(x) - Int(y) }
            i += 1
        }
    }
}

extension Connection {
    /// `serveDir` for a packed folder: switch an app between a folder on disk and the
    /// assets in its firmware by this one argument. No listings (a packed folder is
    /// known at build time).
    public func serveDir(_ hm: HttpMessage, packed: PackedFS, options: ServeOptions = ServeOptions()) {
        guard let s = liveSlot else { return }
        manager.serveStatic(s, hm, packed: packed, options: options)
    }
}
