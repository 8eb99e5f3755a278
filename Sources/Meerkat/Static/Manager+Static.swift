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
    /// is not there (or not inside the root) 404, or what `options` say (a 404 page, a
    /// single-page app's index). `options` also add headers and types. Never throws: a
    /// reply that cannot be queued is answered 500 by the library, as for `reply`.
    public func serveDir(_ hm: HttpMessage, root: String, listing: Bool = false, options: ServeOptions = ServeOptions()) {
        guard let s = liveSlot else { return }
        manager.serveStatic(s, hm, root: root, file: nil, listing: listing, options: options)
    }

    /// Answers `hm` with the file at `path` (chosen by the app, not by the URI), with
    /// the same validators, ranges, gzip sibling and types as `serveDir`; the header
    /// rules of `options` are matched against the request's path.
    public func serveFile(_ hm: HttpMessage, path: String, options: ServeOptions = ServeOptions()) {
        guard let s = liveSlot else { return }
        manager.serveStatic(s, hm, root: "/", file: path, listing: false, options: options)
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

    func serveStatic(_ s: Int32, _ hm: HttpMessage, root: String, file: String?, listing: Bool, options: ServeOptions) {
        guard hm.method == "GET" || hm.method == "HEAD" else { return staticError(s, 405, allow: true) }
        guard realRoot(root) else { return staticError(s, 404) }
        // The path to open: root + "/" + the URI's path made safe (or the app's file).
        var w = ByteWriter(base: services.staticPath, capacity: Manager.staticPathSize - Manager.pathTail)
        var nameStart = 0
        var directory = false
        var mask: UInt64 = 0
        if let file {
            if !options.rules.isEmpty { mask = requestMask(hm, options) }
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
            mask = options.headerMask(ByteView(base: services.staticPath + nameStart, count: w.count - nameStart))
        }
        guard !w.overflowed else { return staticError(s, 404) }
        let asked = ByteView(base: services.staticPath + nameStart, count: w.count - nameStart - (directory ? 10 : 0))
        let spa = file == nil && options.fallsBackToIndex(asked)
        guard let failure = sendPath(s, hm, &w, nameStart: nameStart, .asked(directory: directory), options, mask) else { return }
        if failure == EACCES { return staticError(s, 403) }
        // A folder without index.html: its listing, or 403 when listings are off.
        if directory && failure == ENOENT && listFolder(s, hm, folderLength: w.count - "index.html".utf8.count, listing: listing) {
            return
        }
        // Not there: the single-page app's index, the 404 page, or a plain 404.
        w.drop(w.count - nameStart)
        if spa, let index = options.spaIndex {
            options.writePath(index, &w)
            if sendPath(s, hm, &w, nameStart: nameStart, .index, options, mask) == nil { return }
            w.drop(w.count - nameStart)
        }
        if let page = options.notFound {
            options.writePath(page, &w)
            if sendPath(s, hm, &w, nameStart: nameStart, .notFoundPage, options, mask) == nil { return }
        }
        staticError(s, 404)
    }

    /// What `sendPath` is sending: the file asked, or a fallback the options name.
    private enum Sent {
        case asked(directory: Bool)
        case index
        case notFoundPage

        var isNotFoundPage: Bool {
            if case .notFoundPage = self { return true }
            return false
        }
    }

    /// Opens the path written at `w` (its name from `nameStart`), the `.gz` sibling first
    /// when the client takes gzip, and answers with it; nil once answered, else the
    /// errno that kept it from being opened (ENOENT for a fallback that is a folder).
    private func sendPath(
        _ s: Int32, _ hm: HttpMessage, _ w: inout ByteWriter, nameStart: Int, _ sent: Sent, _ options: ServeOptions,
        _ mask: UInt64
    ) -> Int32? {
        guard !w.overflowed else { return ENOENT }
        let pathLength = w.count
        let name = ByteView(base: services.staticPath + nameStart, count: pathLength - nameStart)
        let type = MimeTypes.type(of: name)
        let override = options.typeOverride(name)
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
            w.drop(1)
        }
        if fd < 0 { return -fd == EACCES ? EACCES : ENOENT }
        if info.is_dir != 0 {
            if owned { _ = CMeerkat.close(fd) }
            guard case let .asked(directory) = sent else { return ENOENT }
            if directory { staticError(s, 403) } else { redirectToFolder(s, hm) }
            return nil
        }
        var v = ByteWriter(base: services.staticPath + Manager.staticPathSize, capacity: Manager.validatorSize)
        FileConditions.writeETag(mtime: info.mtime, size: info.size, &v)
        let etag = ByteView(base: services.staticPath + Manager.staticPathSize, count: v.count)
        sendStatic(
            s, hm, .file(fd, owned: owned), size: info.size, mtime: info.mtime, etag: etag, type: type, gzip: gzip,
            extras: StaticExtras(options: options, mask: mask, type: override, notFound: sent.isNotFoundPage))
        return nil
    }

    /// The header rules that apply to the request's path (for `serveFile`, whose path
    /// to open is not the URI's), resolved into the path scratch before it is written.
    private func requestMask(_ hm: HttpMessage, _ options: ServeOptions) -> UInt64 {
        let out = UnsafeMutableRawBufferPointer(start: services.staticPath, count: Manager.staticPathSize - Manager.pathTail)
        guard case let .ok(count, _) = StaticPath.resolve(hm.uri, into: out) else {
            return options.headerMask(ByteView(base: services.staticPath, count: 0))
        }
        return options.headerMask(ByteView(base: services.staticPath, count: count))
    }

    /// The same for a packed folder (`PackedFS`): found by path instead of opened.
    func serveStatic(_ s: Int32, _ hm: HttpMessage, packed: PackedFS, options: ServeOptions) {
        guard hm.method == "GET" || hm.method == "HEAD" else { return staticError(s, 405, allow: true) }
        var w = ByteWriter(base: services.staticPath, capacity: Manager.staticPathSize - Manager.pathTail)
        guard let directory = requestPath(s, hm, &w) else { return }
        guard !w.overflowed else { return staticError(s, 404) }
        let path = ByteView(base: services.staticPath, count: w.count)
        let mask = options.headerMask(path)
        if let i = packed.find(path) { return sendPacked(s, hm, packed, i, path, options, mask, notFound: false) }
        // A folder asked without its "/": redirect when it has an index.
        if !directory {
            w.append("/index.html")
            if packed.find(ByteView(base: services.staticPath, count: w.count)) != nil { return redirectToFolder(s, hm) }
        }
        // Not there: the single-page app's index, the 404 page, or a plain 404.
        let spa = options.fallsBackToIndex(path.slice(0, path.count - (directory ? 10 : 0)))
        if spa, let index = options.spaIndex {
            w.drop(w.count)
            options.writePath(index, &w)
            let name = ByteView(base: services.staticPath, count: w.count)
            if let i = packed.find(name) { return sendPacked(s, hm, packed, i, name, options, mask, notFound: false) }
        }
        if let page = options.notFound {
            w.drop(w.count)
            options.writePath(page, &w)
            let name = ByteView(base: services.staticPath, count: w.count)
            if let i = packed.find(name) { return sendPacked(s, hm, packed, i, name, options, mask, notFound: true) }
        }
        staticError(s, 404)
    }

    /// Answers with packed file `i` (named `name`), its gzip copy for clients that take it.
    private func sendPacked(
        _ s: Int32, _ hm: HttpMessage, _ packed: PackedFS, _ i: Int, _ name: ByteView, _ options: ServeOptions,
        _ mask: UInt64, notFound: Bool
    ) {
        let f = packed.files[i]
        let gzip = f.gzip != nil && hm.header("Accept-Encoding")?.containsToken("gzip") == true
        let body = gzip ? UnsafeRawPointer(f.gzip!) : UnsafeRawPointer(f.data!)
        let size = UInt64(gzip ? f.gzip_size : f.size)
        let etag = ByteView(
            base: UnsafeRawPointer(f.etag!).assumingMemoryBound(to: UInt8.self),
            count: Int(strlen(f.etag!)))
        sendStatic(
            s, hm, .memory(body), size: size, mtime: f.mtime, etag: etag, type: MimeTypes.type(of: name), gzip: gzip,
            extras: StaticExtras(options: options, mask: mask, type: options.typeOverride(name), notFound: notFound))
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

    /// What the options add to one answer: the header rules that matched the path asked,
    /// a type override, and whether this is the 404 page (no validators, no ranges).
    struct StaticExtras {
        var options: ServeOptions
        var mask: UInt64
        var type: Int?
        var notFound: Bool
    }

    /// Answers with the body's validators checked against the request's conditions: 200,
    /// 206, 304 or 416, the head written straight into the head scratch.
    private func sendStatic(
        _ s: Int32, _ hm: HttpMessage, _ body: StaticBody, size: UInt64, mtime: Int64,
        etag: ByteView, type: StaticString, gzip: Bool, extras: StaticExtras
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
        switch extras.notFound ? .full : answer {
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
        if extras.notFound { status = 404 }
        let sendsBody = !hm.isHead && (status == 200 || status == 206 || status == 404)
        let room = sendPool.blockSize
        var h = ByteWriter(base: headScratch, capacity: room)
        do throws(ConnectionError) {
            guard slots[Int(s)].kind.isConnection, !slots[Int(s)].http.flags.contains(.answered),
                !slots[Int(s)].held.isPending
            else { throw .invalidState }
            try writeHead(&h, s, status: status, headers: [:], contentLength: nil, extra: "") { w in
                if status != 304 {
                    w.append("Content-Type: ")
                    if let i = extras.type { extras.options.writeType(i, &w) } else { w.append(type) }
                    w.append("\r\nContent-Length: ")
                    w.append(decimal: length)
                    w.append("\r\n")
                }
                extras.options.writeHeaders(extras.mask, &w)
                if !extras.notFound {  // a 404 page is not a version of the resource asked
                    w.append("ETag: ")
                    w.append(etag.buffer)
                    w.append("\r\nLast-Modified: ")
                    w.append(date.buffer)
                    w.append("\r\nAccept-Ranges: bytes\r\n")
                }
                w.append("Vary: Accept-Encoding\r\n")
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

    /// An error answer with a short text body (and `ErrorHeaders`).
    func staticError(_ s: Int32, _ status: Int, allow: Bool = false) {
        do throws(ConnectionError) {
            if allow {
                try handlerReply(
                    s, status: status, body: Payload(HttpStatus.reason(status)),
                    headers: ["Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"], extra: ErrorHeaders.lines)
            } else {
                try handlerReply(
                    s, status: status, body: Payload(HttpStatus.reason(status)),
                    headers: ["Content-Type": "text/plain; charset=utf-8"], extra: ErrorHeaders.lines)
            }
        } catch {}
    }

    /// A folder asked without its "/": 301 to the same URI with it. Leading slashes are
    /// sent as one: `Location: //sub/` would send a browser to the host "sub" (an open
    /// redirect), though `//sub` names the same folder as `/sub`.
    private func redirectToFolder(_ s: Int32, _ hm: HttpMessage) {
        var h = ByteWriter(base: headScratch, capacity: sendPool.blockSize)
        var skip = 0
        while skip + 1 < hm.uri.count && hm.uri[skip + 1] == UInt8(ascii: "/") { skip += 1 }
        do throws(ConnectionError) {
            guard !slots[Int(s)].http.flags.contains(.answered) else { throw .invalidState }
            try writeHead(&h, s, status: 301, headers: [:], contentLength: 0, extra: "") { w in
                w.append("Location: ")
                w.append(hm.uri.slice(skip, hm.uri.count).buffer)
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
