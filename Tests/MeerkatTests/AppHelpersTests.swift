import Glibc
import Testing
@testable import Meerkat
import MeerkatTesting

/// Issue 8: the router and its patterns, form bodies, the file helpers, the thread helper.
@Suite(.serialized) struct AppHelpersTests {
    func view(_ text: String, _ body: (ByteView) -> Void) {
        Array(text.utf8).withUnsafeBytes { body(ByteView($0)) }
    }

    /// Every public error prints in words (Embedded Swift prints a value without a
    /// description as "(cannot print value in embedded Swift)"); an errno by its name.
    @Test func errorsPrintTheirDescription() {
        #expect("\(ListenError.system(EADDRINUSE))" == "address already in use (EADDRINUSE)")
        #expect("\(ListenError.system(EACCES))" == "permission denied (EACCES)")
        #expect("\(ListenError.system(9999))" == "system error 9999")
        #expect("\(ListenError.tls(.badKey))" == "TLS: cannot parse the private key")
        #expect("\(FileError.system(ENOENT))" == "no such file or folder (ENOENT)")
        #expect("\(FileError.tooLarge)" == "the file is larger than the buffer")
        #expect("\(ConnectError.system(ECONNREFUSED))" == "connection refused (ECONNREFUSED)")
        #expect("\(ConnectionError.closed)" == "the connection is closed")
        #expect("\(BackgroundThread.StartError.system(EAGAIN))" == "cannot start a thread: system error \(EAGAIN)")
        #expect("\(UploadError.tooLarge)" == "larger than the limit")
        #expect("\(MqttOutboxError.full)" == "MQTT: the outbox is full")
        #expect("\(CredentialsError.noColon)" == "Basic credentials without a ':' after the user")
    }

    @Test func patternsAndCaptures() {
        view("/api/sensors/42") { v in
            var c = Captures()
            #expect(Pattern.match(v, "/api/sensors/*", captures: &c))
            #expect(c.count == 1 && c[0] == "42")
            #expect(!Pattern.match(v, "/api/*"))  // * stops at '/'
            #expect(Pattern.match(v, "/api/#"))  // # does not
            #expect(Pattern.match(v, "/api/*/4?"))
            #expect(!Pattern.match(v, "/api/sensors"))
            #expect(Pattern.match(v, "#"))
        }
        view("/files/a/b/c.txt") { v in
            var c = Captures()
            #expect(Pattern.match(v, "/files/#.txt", captures: &c))
            #expect(c[0] == "a/b/c")
            var d = Captures()
            #expect(Pattern.match(v, "/*/*/#", captures: &d))
            #expect(d.count == 3 && d[0] == "files" && d[1] == "a" && d[2] == "b/c.txt")
        }
    }

    @Test func routerDispatchesWithHeadFor405AndMisses() throws {
        var router = Router()
        var hits: [String] = []
        router.get("/api/sensors/*") { conn, _, c in
            hits.append("sensor \(c[0].string)")
            try? conn.reply(200, "sensor \(c[0].string)")
        }
        router.post("/config") { conn, hm, _ in
            hits.append("config \(hm.formVar("interval") ?? "-")")
            try? conn.reply(200, "saved")
        }
        let manager = Manager { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            if !router.handle(conn, hm) { try? conn.reply(404, "Not Found") }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET /api/sensors/7 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(read(c, from: manager, until: "sensor 7").hasPrefix("HTTP/1.1 200"))
        c.send("HEAD /api/sensors/8 HTTP/1.1\r\nHost: h\r\n\r\n")
        let head = read(c, from: manager, until: "\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200") && head.contains("Content-Length: 8") && !head.contains("sensor 8"))
        c.send("POST /config HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\ninterval=30&label=a%20b")
        #expect(read(c, from: manager, until: "saved").hasPrefix("HTTP/1.1 200"))
        c.send("DELETE /config HTTP/1.1\r\nHost: h\r\n\r\n")
        let denied = read(c, from: manager, until: "Allowed\n")
        #expect(denied.hasPrefix("HTTP/1.1 405") && denied.contains("Allow: POST\r\n"))
        c.send("GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(read(c, from: manager, until: "Not Found").hasPrefix("HTTP/1.1 404"))
        #expect(hits == ["sensor 7", "sensor 8", "config 30"])
        manager.close()
    }

    @Test func formDecodingOfAnyBytes() {
        #expect(URLEncoding.value(of: "label", in: "interval=30&label=a%20b+c") == "a b c")
        #expect(URLEncoding.value(of: "missing", in: "a=1") == nil)
        #expect(URLEncoding.value(of: "bad", in: Array("bad=%zz".utf8)) == nil)
        #expect(URLEncoding.decode("x%2Fy") == "x/y")
    }

    @Test func filesAreWrittenRenamedAndReadBack() throws {
        let dir = "/tmp/meerkat-file-test-\(getpid())"
        mkdir(dir, 0o755)
        defer { _ = try? File.remove(dir + "/config.json"); rmdir(dir) }
        let f = try File.create(dir + "/config.json.tmp")
        try f.write("{\"interval\": ")
        try f.write([UInt8]("30}".utf8))
        try f.sync()
        f.close()
        try File.rename(dir + "/config.json.tmp", to: dir + "/config.json")
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = try buffer.withUnsafeMutableBytes { try File.read(dir + "/config.json", into: $0) }
        #expect(String(decoding: buffer[0..<n], as: UTF8.self) == "{\"interval\": 30}")
        var small = [UInt8](repeating: 0, count: 4)
        #expect(throws: FileError.tooLarge) { try small.withUnsafeMutableBytes { _ = try File.read(dir + "/config.json", into: $0) } }
        #expect(throws: FileError.system(ENOENT)) { _ = try File.read(dir + "/missing", into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        let g = try File.create(dir + "/config.json", append: true)
        try g.write("\n")
        g.close()
        let m = try buffer.withUnsafeMutableBytes { try File.read(dir + "/config.json", into: $0) }
        #expect(m == n + 1)
    }

    /// Issue 21: two writers of one name each get a file of their own; the last replace
    /// stays, whole; cleaning at start removes only that pattern, never a user's file.
    @Test func temporariesAreEachWritersOwnAndCleanedByPatternOnly() throws {
        let dir = "/tmp/meerkat-temp-test-\(getpid())"
        mkdir(dir, 0o755)
        defer {
            for name in ["a.bin", "a.bin.part", ".a.bin.0123456x.part"] { _ = try? File.remove(dir + "/" + name) }
            rmdir(dir)
        }
        let (first, firstPath) = try File.createTemporary(for: dir + "/a.bin")
        let (second, secondPath) = try File.createTemporary(for: dir + "/a.bin")
        #expect(firstPath != secondPath && firstPath.hasPrefix(dir + "/.a.bin.") && firstPath.hasSuffix(".part"))
        try first.write("first")
        try second.write("second, longer")
        first.close()
        second.close()
        try File.replace(dir + "/a.bin", with: firstPath)
        try File.replace(dir + "/a.bin", with: secondPath)
        #expect(try File.contents(dir + "/a.bin") == Array("second, longer".utf8))
        // Left by a crash, and look-alikes that are not temporaries.
        for name in [".a.bin.0123abcd.part", "a.bin.part", ".a.bin.0123456x.part"] { try File.create(dir + "/" + name).close() }
        try File.createTemporary(for: dir + "/b").file.close()
        #expect(File.removeTemporaries(in: dir) == 2)
        #expect(access(dir + "/.a.bin.0123abcd.part", F_OK) != 0)
        for kept in ["a.bin", "a.bin.part", ".a.bin.0123456x.part"] { #expect(access(dir + "/" + kept, F_OK) == 0) }
    }

    /// Issue 22: a folder's entries with what each is, its size and time, nothing
    /// allocated per entry; listings inside listings; the temporaries of files being
    /// written left out; the static files' folder page built from the same lister.
    @Test func aFolderIsListedWithSizesAndTimes() throws {
        let dir = "/tmp/meerkat-list-test-\(getpid())"
        mkdir(dir, 0o755)
        defer { _ = system("rm -rf " + dir) }
        try File.makeFolder(dir + "/sub")
        try File.create(dir + "/sub/inner.txt").close()
        let f = try File.create(dir + "/a b é.txt")
        try f.write("twelve bytes")
        f.close()
        var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, dir + "/a b é.txt", &times, 0) == 0)
        // Past 4 GiB (sparse): the size is 64-bit.
        let big = try File.create(dir + "/big.bin")
        #expect(ftruncate(big.fd, 5 << 30) == 0)
        big.close()
        #expect(symlink("sub", dir + "/link-to-sub") == 0)
        try File.createTemporary(for: dir + "/upload.bin").file.close()  // still being written
        // Enough names that the system reads the folder in more than one piece.
        try File.makeFolder(dir + "/many")
        for i in 0..<400 { try File.create(dir + "/many/file-with-a-long-name-\(i)").close() }

        struct Seen: Equatable {
            let name: String, isFolder: Bool, size: UInt64
        }
        var seen: [Seen] = []
        var inner: [String: Int] = [:]
        var mtime: Int64 = 0
        try File.list(dir) { entry in
            seen.append(Seen(name: entry.name.string, isFolder: entry.isFolder, size: entry.isFolder ? 0 : entry.size))
            if entry.name == "a b é.txt" { mtime = entry.mtime }
            if entry.isFolder {  // a listing inside a listing, each on its own reader
                var n = 0
                try? File.list(dir + "/" + entry.name.string) { _ in n += 1 }
                inner[entry.name.string] = n
            }
        }
        #expect(
            seen.sorted { $0.name < $1.name } == [
                Seen(name: "a b é.txt", isFolder: false, size: 12), Seen(name: "big.bin", isFolder: false, size: 5 << 30),
                Seen(name: "link-to-sub", isFolder: true, size: 0), Seen(name: "many", isFolder: true, size: 0),
                Seen(name: "sub", isFolder: true, size: 0),
            ])
        #expect(mtime == 1_700_000_000)
        #expect(inner == ["sub": 1, "link-to-sub": 1, "many": 400])
        #expect(throws: FileError.system(ENOENT)) { try File.list(dir + "/missing") { _ in } }
        #expect(throws: FileError.system(ENOTDIR)) { try File.list(dir + "/big.bin") { _ in } }

        // The folder page serveDir sends: the same entries, a link to a folder marked as one.
        let channel = try TestChannel { conn, ev in
            if case let .httpMessage(hm) = ev { conn.serveDir(hm, root: dir, listing: true) }
        }
        let page = try #require(channel.request("GET", "/")).text
        #expect(page.contains("<a href=\"link-to-sub/\">link-to-sub/</a>") && page.contains("<a href=\"a%20b%20%C3%A9.txt\">a b é.txt</a>"))
        #expect(!page.contains(".part"))
        #expect(try #require(channel.request("GET", "/many/")).text.ranges(of: "<li>").count == 401)  // ../ and 400
    }

    @Test func aBackgroundThreadFeedsTheLoopThroughWakeup() throws {
        var got: [String] = []
        var accepted: Connection? = nil
        let manager = Manager { conn, ev in
            if case .accept = ev { accepted = conn }
            if case let .wakeup(data) = ev { got.append(data.string) }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        manager.pump { accepted != nil }
        let id = try #require(accepted).id
        try BackgroundThread.start {
            for i in 0..<3 { _ = manager.wakeup(id, "tick \(i)") }
        }
        #expect(manager.pump { got.count == 3 })
        #expect(got == ["tick 0", "tick 1", "tick 2"])
        _ = c
        manager.close()
    }
}
