import CMeerkat

/// Static files (the docs' `serve_dir` and `serve_file`): GET and HEAD, ETag and
/// Last-Modified with 304, one byte range (206/416), a precompressed `.gz` sibling for
/// clients that take gzip, Content-Type from the extension, `index.html` for a folder and
/// an optional listing. The path is made safe by `StaticPath`; what is opened must lie
/// inside the root once symlinks are followed (`mk_open_below`). A body that fits the
/// send block with its head goes out in one write; a larger one is sent from the
/// descriptor as the socket drains (`FileSends`). Serving allocates nothing: the path,
/// the validators and the head are written into scratch allocated at start.
extension Connection {
    /// Answers `hm` with the file its URI names below the folder `root`. A folder's
    /// `index.html` answers for it; without one, `listing: true` lists the folder (else
    /// 403). A folder asked without its trailing "/" is redirected (301) to it. Methods
    /// other than GET and HEAD get 405; "..", encoded slashes and control bytes 403; what
    /// is not there (or not inside the root) 404. Never throws: a reply that cannot be
    /// queued is answered 500 by the library, as for `reply`.
    public func serveDir(_ hm: HttpMessage, root: String, listing: Bool = false) {
        guard let s = liveSlot else { return }
        manager.serveStatic(s, hm, root: root, file: nil, listing: listing)
    }

    /// Answers `hm` with the file at `path` (chosen by the app, not by the URI), with
    /// the same validators, ranges, gzip sibling and types as `serveDir`.
    public func serveFile(_ hm: HttpMessage, path: String) {
        guard let s = liveSlot else { return }
        manager.serveStatic(s, hm, root: "/", file: path, listing: false)
    }
}

extension Manager {
    /// The path being opened, and the validators written behind it (`staticPath`).
    static let staticPathSize = 4096
    static let validatorSize = 80
}

extension Manager {
    /// Room kept after the path for "/index.html", ".gz" and the NUL.
    private static let pathTail = 16

    func serveStatic(_ s: Int32, _ hm: HttpMessage, root: String, file: String?, listing: Bool) {
        guard hm.method == "GET" || hm.method == "HEAD" else { return staticError(s, 405, allow: true) }
        guard realRoot(root) else { return staticError(s, 404) }
        // The path to open: root + "/" + the URI's path made safe (or the app's file).
        var w = ByteWriter(base: services.staticPath, capacity: Manager.staticPathSize - Manager.pathTail)
        var nameStart = 0
        var directory = false
        if let file {
            var text = file
            text.withUTF8 { w.append(UnsafeRawBufferPointer($0)) }
        } else {
            var text = root
            text.withUTF8 { w.append(UnsafeRawBufferPointer($0)) }
            if w.count > 1 && services.staticPath[w.count - 1] == UInt8(ascii: "/") { w.drop(1) }
            w.append(byte: UInt8(ascii: "/"))
            nameStart = w.count
            guard let isDirectory = requestPath(s, hm, &w) else { return }
            directory = isDirectory
        }
        guard !w.overflowed else { return staticError(s, 404) }
        let pathLength = w.count
        let type = MimeTypes.type(of: ByteView(base: services.staticPath + nameStart, count: pathLength - nameStart))
        var info = mk_file_info()
        var gzip = false
        var fd: Int32 = -1
        var owned = false
        if hm.header("Accept-Encoding")?.containsToken("gzip") == true {
            w.append(".gz")
            w.append(byte: 0)
            fd = openKept(pathLength + 3, &info, owned: &owned)
            if fd >= 0 && info.is_dir != 0 {
                if owned { _ = CMeerkat.close(fd) }
                fd = -1
            }
            gzip = fd >= 0
            w.drop(4)
        }
        if fd < 0 {
            w.append(byte: 0)
            fd = openKept(pathLength, &info, owned: &owned)
        }
        if fd < 0 {
            // A folder without index.html: its listing, or 403 when listings are off
            // (404 when the folder is not there either).
            if directory && -fd == ENOENT {
                return listFolder(s, hm, folderLength: pathLength - "index.html".utf8.count, listing: listing)
            }
            return staticError(s, -fd == EACCES ? 403 : 404)
        }
        if info.is_dir != 0 {
            if owned { _ = CMeerkat.close(fd) }
            return directory ? staticError(s, 403) : redirectToFolder(s, hm)
        }
        var v = ByteWriter(base: services.staticPath + Manager.staticPathSize, capacity: Manager.validatorSize)
        FileConditions.writeETag(mtime: info.mtime, size: info.size, &v)
        let etag = ByteView(base: services.staticPath + Manager.staticPathSize, count: v.count)
        sendStatic(s, hm, .file(fd, owned: owned), size: info.size, mtime: info.mtime, etag: etag, type: type, gzip: gzip)
    }

    /// The same for a packed folder (`PackedFS`): found by path instead of opened.
    func serveStatic(_ s: Int32, _ hm: HttpMessage, packed: PackedFS) {
        guard hm.method == "GET" || hm.method == "HEAD" else { return staticError(s, 405, allow: true) }
        var w = ByteWriter(base: services.staticPath, capacity: Manager.staticPathSize - Manager.pathTail)
        guard let directory = requestPath(s, hm, &w) else { return }
        guard !w.overflowed else { return staticError(s, 404) }
        let path = ByteView(base: services.staticPath, count: w.count)
        guard let i = packed.find(path) else {
            // A folder asked without its "/": redirect when it has an index.
            if !directory {
                w.append("/index.html")
                if packed.find(ByteView(base: services.staticPath, count: w.count)) != nil { return redirectToFolder(s, hm) }
            }
            return staticError(s, 404)
        }
        let f = packed.files[i]
        let gzip = f.gzip != nil && hm.header("Accept-Encoding")?.containsToken("gzip") == true
        let body = gzip ? UnsafeRawPointer(f.gzip!) : UnsafeRawPointer(f.data!)
        let size = UInt64(gzip ? f.gzip_size : f.size)
        let etag = ByteView(
            base: UnsafeRawPointer(f.etag!).assumingMemoryBound(to: UInt8.self),
            count: Int(strlen(f.etag!)))
        sendStatic(
            s, hm, .memory(body), size: size, mtime: f.mtime, etag: etag, type: MimeTypes.type(of: path),
            gzip: gzip)
    }

    /// Writes the request's path made safe (`StaticPath`) at `w`, with "index.html"
    /// after a folder's "/"; whether a folder was asked. Nil when the request was
    /// answered (400, 403, 404).
    private func requestPath(_ s: Int32, _ hm: HttpMessage, _ w: inout ByteWriter) -> Bool? {
        let out = UnsafeMutableRawBufferPointer(
            start: services.staticPath + w.count,
            count: max(Manager.staticPathSize - Manager.pathTail - w.count, 0))
        switch StaticPath.resolve(hm.uri, into: out) {
        case .bad:
            staticError(s, 400)
            return nil
        case .forbidden:
            staticError(s, 403)
            return nil
        case .tooLong:
            staticError(s, 404)
            return nil
        case let .ok(count, isDirectory):
            w.skip(count)
            if isDirectory {
                if w.count > 0 && services.staticPath[w.count - 1] != UInt8(ascii: "/") { w.append(byte: UInt8(ascii: "/")) }
                w.append("index.html")
            }
            return isDirectory
        }
    }

    /// Opens the NUL-terminated path in `staticPath`, inside the real root kept in
    /// `staticRootReal`; the fd or -errno (-EACCES: outside the root, or not a file).
    func openBelow(_ info: inout mk_file_info) -> Int32 {
        services.staticPath.withMemoryRebound(to: CChar.self, capacity: Manager.staticPathSize) { path in
            services.staticRootReal.withMemoryRebound(to: CChar.self, capacity: Manager.staticPathSize) { root in
                mk_open_below(root, path, &info)
            }
        }
    }

    /// The root's real path (symlinks resolved) into `staticRootReal`, kept for the
    /// last root asked; false when the root does not exist.
    private func realRoot(_ root: String) -> Bool {
        if services.staticRootKnown && root == services.staticRootName { return true }
        let n = root.withCString { c in
            services.staticRootReal.withMemoryRebound(to: CChar.self, capacity: Manager.staticPathSize) {
                mk_realpath(c, $0, Manager.staticPathSize)
            }
        }
        guard n > 0 else { return false }
        services.staticRootName = root
        services.staticRootKnown = true
        services.staticRootSerial &+= 1  // what OpenFiles kept was checked against another root
        return true
    }

    /// Where a static body is: a descriptor (closed here once done with when `owned`;
    /// else it belongs to `OpenFiles`) or memory that lives for the process (packed).
    enum StaticBody {
        case file(Int32, owned: Bool)
        case memory(UnsafeRawPointer)
    }

    /// Answers with the body's validators checked against the request's conditions: 200,
    /// 206, 304 or 416, the head written straight into the head scratch.
    private func sendStatic(
        _ s: Int32, _ hm: HttpMessage, _ body: StaticBody, size: UInt64, mtime: Int64,
        etag: ByteView, type: StaticString, gzip: Bool
    ) {
        var fd: Int32 = -1
        var owned = false
        if case let .file(f, o) = body { (fd, owned) = (f, o) }
        defer { if owned && fd >= 0 { _ = CMeerkat.close(fd) } }
        var v = ByteWriter(base: services.staticPath + Manager.staticPathSize + 40, capacity: Manager.validatorSize - 40)
        HttpDate.write(mtime, &v)
        let date = ByteView(base: services.staticPath + Manager.staticPathSize + 40, count: v.count)
        let answer = FileConditions.answer(
            ifNoneMatch: hm.header("If-None-Match"),
            ifModifiedSince: hm.header("If-Modified-Since"),
            range: hm.header("Range"), ifRange: hm.header("If-Range"),
            etag: etag, mtime: mtime, size: size)
        var status = 200
        var offset: UInt64 = 0
        var length = size
        switch answer {
        case .full: break
        case .notModified:
            status = 304
            length = 0
        case let .partial(start, count):
            status = 206
            offset = start
            length = count
        case .unsatisfiable:
            status = 416
            length = 0
        }
        let sendsBody = !hm.isHead && (status == 200 || status == 206)
        let room = sendPool.blockSize
        var h = ByteWriter(base: headScratch, capacity: room)
        do throws(ConnectionError) {
            guard slots[Int(s)].kind.isConnection, !slots[Int(s)].http.flags.contains(.answered),
                !slots[Int(s)].held.isPending
            else { throw .invalidState }
            try writeHead(&h, s, status: status, headers: [:], contentLength: nil, extra: "") { w in
                if status != 304 {
                    w.append("Content-Type: ")
                    w.append(type)
                    w.append("\r\nContent-Length: ")
                    w.append(decimal: length)
                    w.append("\r\n")
                }
                w.append("ETag: ")
                w.append(etag.buffer)
                w.append("\r\nLast-Modified: ")
                w.append(date.buffer)
                w.append("\r\nAccept-Ranges: bytes\r\nVary: Accept-Encoding\r\n")
                if gzip { w.append("Content-Encoding: gzip\r\n") }
                if status == 206 {
                    w.append("Content-Range: bytes ")
                    w.append(decimal: offset)
                    w.append(byte: UInt8(ascii: "-"))
                    w.append(decimal: offset + length - 1)
                    w.append(byte: UInt8(ascii: "/"))
                    w.append(decimal: size)
                    w.append("\r\n")
                } else if status == 416 {
                    w.append("Content-Range: bytes */")
                    w.append(decimal: size)
                    w.append("\r\n")
                }
            }
            if !sendsBody || length == 0 {
                try enqueue(s, h.written, UnsafeRawBufferPointer(start: nil, count: 0))
            } else if case let .memory(base) = body {
                // Packed: sent from where it lives, at any size.
                try enqueue(
                    s, h.written, UnsafeRawBufferPointer(start: base + Int(offset), count: Int(length)),
                    owner: .immortal)
            } else if UInt64(room - h.count) >= length {
                // A small file: read behind the head, one write.
                let n = mk_pread(fd, headScratch + h.count, Int(length), offset)
                guard n == Int(length) else { throw .closed }
                try enqueue(
                    s, UnsafeRawBufferPointer(start: headScratch, count: h.count + Int(length)),
                    UnsafeRawBufferPointer(start: nil, count: 0))
            } else {
                // A large file: sent from the descriptor (its own copy of a kept one),
                // which the entry now owns.
                let sendFd = owned ? fd : mk_dup(fd)
                guard sendFd >= 0 else { throw .closed }
                if services.fileSends.isFull { reclaimFileSend(for: s) }
                guard let e = services.fileSends.take(fd: sendFd, offset: offset, length: length, for: s) else {
                    if !owned { _ = CMeerkat.close(sendFd) }
                    return staticError(s, 503)
                }
                if owned { fd = -1 }
                do throws(ConnectionError) {
                    try enqueue(s, h.written, UnsafeRawBufferPointer(start: nil, count: 0))
                } catch {
                    services.fileSends.give(e)
                    throw error
                }
                holdFile(s, e, length: length)
            }
            finishedReply(s)
        } catch {
            if error != .closed { replyFailed(s) }
        }
    }

    /// An error answer with a short text body.
    func staticError(_ s: Int32, _ status: Int, allow: Bool = false) {
        do throws(ConnectionError) {
            if allow {
                try handlerReply(
                    s, status: status, body: Payload(HttpStatus.reason(status)),
                    headers: ["Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"])
            } else {
                try handlerReply(
                    s, status: status, body: Payload(HttpStatus.reason(status)),
                    headers: ["Content-Type": "text/plain; charset=utf-8"])
            }
        } catch {}
    }

    /// A folder asked without its "/": 301 to the same URI with it.
    private func redirectToFolder(_ s: Int32, _ hm: HttpMessage) {
        var h = ByteWriter(base: headScratch, capacity: sendPool.blockSize)
        do throws(ConnectionError) {
            guard !slots[Int(s)].http.flags.contains(.answered) else { throw .invalidState }
            try writeHead(&h, s, status: 301, headers: [:], contentLength: 0, extra: "") { w in
                w.append("Location: ")
                w.append(hm.uri.buffer)
                w.append("/")
                if hm.query.count > 0 {
                    w.append("?")
                    w.append(hm.query.buffer)
                }
                w.append("\r\n")
            }
            try enqueue(s, h.written, UnsafeRawBufferPointer(start: nil, count: 0))
            finishedReply(s)
        } catch {
            if error != .closed { replyFailed(s) }
        }
    }
}
