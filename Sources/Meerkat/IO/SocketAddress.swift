import CMeerkat

/// An IP address and port, as `localAddress` / `remoteAddress` report it
/// (pymongoose's `(ip, port, is_ipv6)`).
public struct SocketAddress: Equatable {
    var raw: mk_addr

    init(raw: mk_addr) { self.raw = raw }

    /// A numeric IPv4 or IPv6 address and a port; nil when `ip` is not one.
    public init?(_ ip: String, port: Int) {
        var raw = mk_addr()
        guard (0...65535).contains(port), ip.withCString({ mk_addr_parse($0, UInt16(port), &raw) }) == 0 else { return nil }
        self.raw = raw
    }

    public var port: Int { Int(raw.port) }
    public var isIPv6: Bool { raw.is_ipv6 != 0 }

    /// The address in text form, e.g. "127.0.0.1" or "::1".
    public var ip: String {
        var copy = raw
        var text = [CChar](repeating: 0, count: 64)
        let n = text.withUnsafeMutableBufferPointer { mk_addr_format(&copy, $0.baseAddress, 64) }
        guard n > 0 else { return "" }
        return String(decoding: text[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        var x = a.raw, y = b.raw
        return memcmp(&x, &y, MemoryLayout<mk_addr>.size) == 0
    }
}
