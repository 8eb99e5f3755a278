/// Pure comparisons behind the cross-origin and DNS-rebinding checks (OriginPolicy):
/// an `Origin` header against the request's `Host`, against an allow-list, and a `Host`
/// against the names a device answers to. Bytes in, a verdict out; nothing is copied.
public enum OriginCheck {
    /// An authority split into its host (brackets kept for IPv6) and port.
    public struct Authority {
        public let host: ByteView
        public let port: UInt16
    }

    /// `host[:port]` (a Host header, or the part of an origin after `://`), with
    /// `defaultPort` when none is given. Nil for an empty host, a bad port, or a path.
    public static func authority(_ text: ByteView, defaultPort: UInt16) -> Authority? {
        var hostEnd = text.count
        var portStart = -1
        if text.count > 0 && text[0] == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostEnd = close + 1
            if hostEnd < text.count {
                guard text[hostEnd] == UInt8(ascii: ":") else { return nil }
                portStart = hostEnd + 1
            }
        } else if let colon = text.firstIndex(of: UInt8(ascii: ":")) {
            hostEnd = colon
            portStart = colon + 1
        }
        guard hostEnd > 0 else { return nil }
        let host = text.slice(0, hostEnd)
        for i in 0..<host.count where host[i] == UInt8(ascii: "/") || host[i] == UInt8(ascii: "@") { return nil }
        guard portStart >= 0 else { return Authority(host: host, port: defaultPort) }
        guard let port = parsePort(text.slice(portStart, text.count)) else { return nil }
        return Authority(host: host, port: port)
    }

    /// A serialized origin (RFC 6454 §6.2): `http` or `https`, `://`, an authority and
    /// nothing more. Nil for `null`, other schemes, or anything malformed.
    public static func origin(_ text: ByteView) -> (tls: Bool, authority: Authority)? {
        let tls: Bool
        let rest: ByteView
        if prefixIgnoringCase(text, "http://") {
            tls = false
            rest = text.slice(7, text.count)
        } else if prefixIgnoringCase(text, "https://") {
            tls = true
            rest = text.slice(8, text.count)
        } else {
            return nil
        }
        guard let a = authority(rest, defaultPort: tls ? 443 : 80) else { return nil }
        return (tls, a)
    }

    /// Whether `origin` names the same scheme, host and port as a request for `host`
    /// that came over TLS or not: what a browser sends for a same-origin request. Hosts
    /// compare in any case; a missing port is the scheme's default (80 or 443).
    public static func sameOrigin(_ origin: ByteView, host: ByteView, tls: Bool) -> Bool {
        guard let o = Self.origin(origin), o.tls == tls,
            let h = authority(host, defaultPort: tls ? 443 : 80)
        else { return false }
        return o.authority.port == h.port && o.authority.host.equalsIgnoringCase(h.host.buffer)
    }

    /// Whether `origin` is on `list` (origins such as `https://app.example:8443`; `*`
    /// allows any), compared as `sameOrigin` does.
    public static func listed(_ origin: ByteView, in list: [String]) -> Bool {
        guard !list.isEmpty, let o = Self.origin(origin) else { return false }
        for entry in list {
            var copy = entry
            let hit = copy.withUTF8 { e -> Bool in
                let view = ByteView(UnsafeRawBufferPointer(e))
                if view == "*" { return true }
                guard let l = Self.origin(view) else { return false }
                return l.tls == o.tls && l.authority.port == o.authority.port
                    && l.authority.host.equalsIgnoringCase(o.authority.host.buffer)
            }
            if hit { return true }
        }
        return false
    }

    /// Whether a request's `Host` is one a DNS-rebinding page cannot have sent: an IP
    /// literal or `localhost` (an attacker's page at such an origin would be the device's
    /// own), or a name on `names` (any case, port ignored).
    public static func hostAllowed(_ host: ByteView, names: [String]) -> Bool {
        guard let a = authority(host, defaultPort: 0) else { return false }
        var name = a.host
        if name.count > 1 && name[name.count - 1] == UInt8(ascii: ".") { name = name.slice(0, name.count - 1) }
        if isIPLiteral(name) || name.equalsIgnoringCase("localhost") { return true }
        for entry in names {
            var copy = entry
            if copy.withUTF8({ name.equalsIgnoringCase(UnsafeRawBufferPointer($0)) }) { return true }
        }
        return false
    }

    /// A bracketed IPv6 address or a dotted-decimal IPv4 one (four numbers 0-255).
    public static func isIPLiteral(_ host: ByteView) -> Bool {
        if host.count >= 2 && host[0] == UInt8(ascii: "[") && host[host.count - 1] == UInt8(ascii: "]") {
            for i in 1..<(host.count - 1) {
                let c = host[i]
                guard ASCII.isDigit(c) || ASCII.hexValue(c) != nil || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
                else { return false }
            }
            return true
        }
        var parts = 0
        var value: UInt16 = 0
        var digits = 0
        for i in 0...host.count {
            if i == host.count || host[i] == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                parts += 1
                value = 0
                digits = 0
            } else {
                guard ASCII.isDigit(host[i]), digits < 3 else { return false }
                value = value * 10 + UInt16(host[i] - 48)
                digits += 1
                guard value <= 255 else { return false }
            }
        }
        return parts == 4
    }

    /// 1-5 digits, at most 65535.
    static func parsePort(_ text: ByteView) -> UInt16? {
        guard text.count >= 1 && text.count <= 5 else { return nil }
        var value: UInt32 = 0
        for i in 0..<text.count {
            guard ASCII.isDigit(text[i]) else { return nil }
            value = value * 10 + UInt32(text[i] - 48)
        }
        return value <= 65535 ? UInt16(value) : nil
    }

    private static func prefixIgnoringCase(_ text: ByteView, _ prefix: StaticString) -> Bool {
        prefix.utf8CodeUnitCount <= text.count && text.slice(0, prefix.utf8CodeUnitCount).equalsIgnoringCase(prefix)
    }
}
