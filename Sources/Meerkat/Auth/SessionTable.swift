/// Login sessions in fixed memory (`Limits.authSessions` entries, allocated once). An
/// entry keeps the SHA-256 of its token, never the token: a memory dump or a bug that
/// prints the table gives nothing a browser could present. It also keeps the user name
/// (at most `maxUserBytes`) and when it was made and last used. Nothing is written
/// anywhere: a restart logs everyone out.
struct SessionTable {
    /// Random bytes in a token (256 bits); its cookie value is their base64url, 43
    /// characters.
    static let tokenBytes = 32
    static let tokenChars = 43
    /// Bytes a session's user name may take.
    static let maxUserBytes = 32

    let capacity: Int
    /// Per entry: the token's SHA-256 (32 bytes) then the user name (`maxUserBytes`).
    private let bytes: UnsafeMutablePointer<UInt8>
    private let entries: UnsafeMutablePointer<Entry>

    struct Entry {
        var inUse = false
        var userCount: UInt8 = 0
        var created: Int64 = 0
        var lastUsed: Int64 = 0
    }

    private static let stride = Sha256.digestCount + maxUserBytes

    init(capacity: Int) {
        self.capacity = capacity
        bytes = .allocate(capacity: max(capacity, 1) * Self.stride)
        bytes.initialize(repeating: 0, count: max(capacity, 1) * Self.stride)
        entries = .allocate(capacity: max(capacity, 1))
        entries.initialize(repeating: Entry(), count: max(capacity, 1))
    }

    func deallocate() {
        bytes.deallocate()
        entries.deallocate()
    }

    func entry(_ i: Int) -> Entry { entries[i] }

    func user(_ i: Int) -> ByteView {
        ByteView(base: bytes + i * Self.stride + Sha256.digestCount, count: Int(entries[i].userCount))
    }

    /// Whether entry `i` has outlived its idle or absolute lifetime at `now`.
    func expired(_ i: Int, now: Int64, idleMs: Int64, maxMs: Int64) -> Bool {
        now - entries[i].lastUsed >= idleMs || now - entries[i].created >= maxMs
    }

    /// The entry a new session takes: a free or expired one, else the oldest (made
    /// first). Nil only for an empty table.
    func place(now: Int64, idleMs: Int64, maxMs: Int64) -> Int? {
        var oldest: Int? = nil
        for i in 0..<capacity {
            if !entries[i].inUse || expired(i, now: now, idleMs: idleMs, maxMs: maxMs) { return i }
            if oldest == nil || entries[i].created < entries[oldest!].created { oldest = i }
        }
        return oldest
    }

    /// Fills entry `i` with the hash of `token` and `user`.
    func set(_ i: Int, token: UnsafeRawBufferPointer, user: UnsafeRawBufferPointer, now: Int64) {
        let at = bytes + i * Self.stride
        Sha256.hash(token, into: UnsafeMutableRawBufferPointer(start: at, count: Sha256.digestCount))
        for k in 0..<user.count { at[Sha256.digestCount + k] = user[k] }
        entries[i] = Entry(inUse: true, userCount: UInt8(user.count), created: now, lastUsed: now)
    }

    /// The entry whose token hashes to `digest`. Every entry in use is compared in full
    /// (`Crypto.constantTimeEquals`), so the time says nothing about which bytes match.
    func find(digest: UnsafeRawBufferPointer) -> Int? {
        var found: Int? = nil
        for i in 0..<capacity where entries[i].inUse {
            let stored = UnsafeRawBufferPointer(start: bytes + i * Self.stride, count: Sha256.digestCount)
            if Crypto.constantTimeEquals(stored, digest) && found == nil { found = i }
        }
        return found
    }

    func touch(_ i: Int, now: Int64) { entries[i].lastUsed = now }

    /// Frees entry `i` and wipes its hash and user name.
    func clear(_ i: Int) {
        Crypto.wipe(UnsafeMutableRawBufferPointer(start: bytes + i * Self.stride, count: Self.stride))
        entries[i] = Entry()
    }
}
