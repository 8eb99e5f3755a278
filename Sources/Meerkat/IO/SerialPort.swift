import CMeerkat

/// A UART for `Manager.watch`: the device opened read-write and non-blocking, in raw
/// mode (bytes as they come, no echo, no CR/LF mapping), at a rate. What a board's
/// `/dev/ttyS0` or a USB adapter's `/dev/ttyUSB0` needs before its bytes mean anything.
extension File {
    /// Opens the serial device at `path` (not as the controlling terminal) and makes it
    /// raw at `baud` bits/s (0 keeps the rate). Once watched, the connection's close
    /// closes it.
    public static func openSerial(_ path: String, baud: Int) throws(FileError) -> File {
        let fd = path.withCString { mk_open_tty($0) }
        guard fd >= 0 else { throw .system(-fd) }
        do {
            try makeRaw(fd, baud: baud)
        } catch {
            File(fd: fd).close()
            throw error
        }
        return File(fd: fd)
    }

    /// Raw mode on a tty already open (a pty, stdin): no echo, no line discipline, 8N1,
    /// at `baud` bits/s (0 keeps the rate). Throws `.system(EINVAL)` for a rate termios
    /// has no constant for, `.system(ENOTTY)` for a descriptor that is not a tty.
    public static func makeRaw(_ fd: Int32, baud: Int = 0) throws(FileError) {
        let err = mk_tty_raw(fd, baud)
        guard err == 0 else { throw .system(-err) }
    }
}
