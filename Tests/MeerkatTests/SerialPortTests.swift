import Glibc
import Testing
@testable import Meerkat

/// A UART's stand-in: a pseudo-terminal. The library opens its slave side as a serial
/// port (`File.openSerial`, raw mode) and watches it; the test plays the device on the
/// master side.
@Suite(.serialized) struct SerialPortTests {
    /// The master side (non-blocking) and the slave's path. The pty calls are not in
    /// Swift's Glibc module (they need _XOPEN_SOURCE), so they are taken from libc.
    private func openPty() throws -> (master: Int32, path: String) {
        typealias FdCall = @convention(c) (Int32) -> Int32
        typealias PtsName = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK)  // posix_openpt
        try #require(master >= 0)
        let grant = unsafeBitCast(try #require(dlsym(nil, "grantpt")), to: FdCall.self)
        let unlock = unsafeBitCast(try #require(dlsym(nil, "unlockpt")), to: FdCall.self)
        let ptsName = unsafeBitCast(try #require(dlsym(nil, "ptsname")), to: PtsName.self)
        try #require(grant(master) == 0 && unlock(master) == 0)
        return (master, String(cString: try #require(ptsName(master))))
    }

    private func readAll(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    @Test func aWatchedTtyCanBeWrittenToAndReadRaw() throws {
        let (master, path) = try openPty()
        defer { Glibc.close(master) }
        let port = try File.openSerial(path, baud: 115_200)
        let manager = Manager()
        var got = ""
        let conn = try manager.watch(port.fd) { conn, ev in
            if case .read = ev {
                got += conn.received.string
                conn.consume(conn.received.count)
            }
        }
        // A tty is no socket: the bytes go out with write(2) (send(2) failed, ENOTSOCK).
        try conn.send("hello\n")
        var out = ""
        #expect(
            manager.pump {
                out += readAll(master); return out == "hello\n"
            })
        #expect(out == "hello\n")  // raw: no LF → CR LF mapping
        // Raw: bytes arrive without waiting for a line end, and are not echoed back.
        _ = "abc".withCString { Glibc.write(master, $0, 3) }
        #expect(manager.pump { got == "abc" })
        manager.pump(ms: 30)
        #expect(readAll(master) == "")
        conn.close()
        manager.pump(ms: 20)
        #expect(!conn.isOpen)
    }

    @Test func makeRawRefusesWhatItCannotDo() throws {
        let (master, path) = try openPty()
        defer { Glibc.close(master) }
        #expect(throws: FileError.system(EINVAL)) { try File.openSerial(path, baud: 12_345) }
        #expect(throws: FileError.system(ENOENT)) { try File.openSerial("/dev/no-such-tty", baud: 9600) }
        let pipe = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        defer { pipe.deallocate() }
        try #require(Glibc.pipe(pipe) == 0)
        #expect(throws: FileError.system(ENOTTY)) { try File.makeRaw(pipe[0]) }
        Glibc.close(pipe[0])
        Glibc.close(pipe[1])
    }

    @Test func aWatchedPipeCanBeWrittenTo() throws {
        let fds = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        defer { fds.deallocate() }
        try #require(Glibc.pipe(fds) == 0)
        defer { Glibc.close(fds[0]) }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        let manager = Manager()
        let conn = try manager.watch(fds[1])
        try conn.send("through a pipe")
        var out = ""
        #expect(
            manager.pump {
                out += readAll(fds[0]); return out == "through a pipe"
            })
        conn.close()
        manager.pump(ms: 20)
    }
}
