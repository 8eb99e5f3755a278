import CMeerkat

/// A stored password: PBKDF2-HMAC-SHA256 with a random salt per record (so one device's
/// file tells nothing about another's, and no table of precomputed hashes helps), as
/// one line of text an app keeps in a file:
///
///     pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>
///
/// The iteration count is in the record, so a record made with an older count still
/// checks after the board's default (`Limits.passwordIterations`) changes.
public struct PasswordRecord {
    public let iterations: UInt32
    public let salt: [UInt8]
    public let hash: [UInt8]

    static let prefix = "pbkdf2-sha256$"
    static let saltBytes = 16
    static let hashBytes = 32

    /// A record for `password`: a new 16-byte salt from the DRBG, `iterations` rounds.
    /// Nil without an entropy source or with 0 iterations.
    public init?(password: some ByteSource, iterations: UInt32, manager: Manager) {
        guard iterations > 0, let salt = manager.random(count: Self.saltBytes),
            let hash = Pbkdf2.sha256(password: password, salt: salt, iterations: iterations, count: Self.hashBytes)
        else { return nil }
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    /// Reads a record's text (a trailing newline allowed); nil when it is not one.
    public init?(text: String) {
        var t = Array(text.utf8)
        while let last = t.last, last == 0x0A || last == 0x0D { t.removeLast() }
        let p = Array(Self.prefix.utf8)
        guard t.count > p.count, Array(t[0..<p.count]) == p else { return nil }
        var fields: [[UInt8]] = [[]]
        for c in t[p.count...] {
            if c == UInt8(ascii: "$") { fields.append([]) } else { fields[fields.count - 1].append(c) }
        }
        guard fields.count == 3, !fields[0].isEmpty, fields[0].count <= 10 else { return nil }
        var n: UInt64 = 0
        for c in fields[0] {
            guard ASCII.isDigit(c) else { return nil }
            n = n * 10 + UInt64(c - UInt8(ascii: "0"))
        }
        guard n > 0, n <= UInt64(UInt32.max), let salt = Base64.decode(fields[1]), let hash = Base64.decode(fields[2]),
            !salt.isEmpty, hash.count == Self.hashBytes
        else { return nil }
        iterations = UInt32(n)
        self.salt = salt
        self.hash = hash
    }

    /// The record as its line of text (no newline).
    public var text: String {
        Self.prefix + String(iterations) + "$" + Base64.encode(salt) + "$" + Base64.encode(hash)
    }

    /// Whether `password` is the one this record was made from. The derived hash is
    /// compared in constant time; the cost is the record's iterations, every time.
    public func verify(_ password: some ByteSource) -> Bool {
        var derived = [UInt8](repeating: 0, count: Self.hashBytes)
        let ok = password.withBytes { p in
            salt.withUnsafeBytes { s in
                derived.withUnsafeMutableBytes { Pbkdf2.sha256(password: p, salt: s, iterations: iterations, into: $0) }
            }
        }
        return ok && Crypto.constantTimeEquals(derived, hash)
    }

    /// Writes the record to `path` durably: a temporary file beside it, synced, renamed
    /// over `path`, the folder synced. A power cut leaves the old record or the new one.
    /// Mode 0600: only the device's own user may read it.
    public func save(to path: String) throws(FileError) {
        let (file, temporary) = try File.createTemporary(for: path, mode: 0o600)
        do throws(FileError) {
            defer { file.close() }
            try file.write(text + "\n")
            try file.sync()
        } catch {
            try? File.remove(temporary)
            throw error
        }
        try File.replace(path, with: temporary)
    }

    /// The record stored at `path`; nil when there is none or it cannot be read.
    public static func load(from path: String) -> PasswordRecord? {
        guard let text = try? File.contents(path, limit: 4096) else { return nil }
        return PasswordRecord(text: String(decoding: text, as: UTF8.self))
    }

    /// What a record file holds, telling "never set" from "cannot be used".
    public enum Stored {
        /// No file: the password was never set.
        case missing
        /// A file that cannot be read or is not a record (a disk error, a bad edit).
        case damaged
        case record(PasswordRecord)
    }

    /// What is stored at `path`. An app that offers a first-boot setup must open it only
    /// for `.missing`: taking a damaged file for "no password" would let the first
    /// visitor on the network set their own.
    public static func stored(at path: String) -> Stored {
        do throws(FileError) {
            let text = try File.contents(path, limit: 4096)
            return PasswordRecord(text: String(decoding: text, as: UTF8.self)).map { .record($0) } ?? .damaged
        } catch {
            return error == .system(ENOENT) ? .missing : .damaged
        }
    }
}
