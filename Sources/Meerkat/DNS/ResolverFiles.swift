/// The two files a resolver reads before asking the network: /etc/hosts (names the board
/// knows itself) and /etc/resolv.conf (where to ask). Pure: contents in, answers out.
enum ResolverFiles {
    /// The address /etc/hosts gives `name` ("addr name alias… # comment" lines), of the
    /// family asked for; as text (parse it with `SocketAddress`).
    static func hostsLookup(_ contents: ByteView, name: ByteView, ipv6: Bool) -> ByteView? {
        var found: ByteView? = nil
        forEachLine(contents) { line in
            var fields = Fields(line)
            guard let address = fields.next() else { return true }
            let isV6 = address.firstIndex(of: UInt8(ascii: ":")) != nil
            guard isV6 == ipv6 else { return true }
            while let alias = fields.next() {
                if alias.equalsIgnoringCase(name.buffer) {
                    found = address
                    return false
                }
            }
            return true
        }
        return found
    }

    /// The first `nameserver` of resolv.conf, as text.
    static func nameserver(_ contents: ByteView) -> ByteView? {
        var found: ByteView? = nil
        forEachLine(contents) { line in
            var fields = Fields(line)
            guard let key = fields.next(), key == "nameserver", let address = fields.next() else { return true }
            found = address
            return false
        }
        return found
    }

    /// Calls `body` with each line, comments (# or ;) cut off, until it returns false.
    private static func forEachLine(_ contents: ByteView, _ body: (ByteView) -> Bool) {
        var start = 0
        while start < contents.count {
            let end = contents.firstIndex(of: ASCII.lf, from: start) ?? contents.count
            var line = contents.slice(start, end)
            if let hash = line.firstIndex(of: UInt8(ascii: "#")) { line = line.slice(0, hash) }
            if let semi = line.firstIndex(of: UInt8(ascii: ";")) { line = line.slice(0, semi) }
            guard body(line) else { return }
            start = end + 1
        }
    }

    /// Whitespace-separated fields of a line.
    private struct Fields {
        let line: ByteView
        var at = 0

        init(_ line: ByteView) { self.line = line }

        mutating func next() -> ByteView? {
            let b = line.buffer
            while at < line.count && (ASCII.isSpaceOrTab(b[at]) || b[at] == ASCII.cr) { at += 1 }
            guard at < line.count else { return nil }
            let start = at
            while at < line.count && !(ASCII.isSpaceOrTab(b[at]) || b[at] == ASCII.cr) { at += 1 }
            return line.slice(start, at)
        }
    }
}
