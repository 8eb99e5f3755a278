import CMeerkat

/// The parts of an endpoint URL that `listen` and `connect` (and `mqttConnect`,
/// `sntpConnect`, the resolver's nameserver) need: `http://0.0.0.0:8000`,
/// `ws://[::1]:0/path`, `tcp://127.0.0.1:9000`, `udp://…`, `mqtt://…`, `mqtts://…` (the
/// last three connect only; MQTT's ports default to 1883 and 8883). A listener's
/// host is numeric ("localhost" is taken as 127.0.0.1); a client's may be a name
/// (DNS/Manager+Resolve.swift).
public struct EndpointURL: Equatable {
    public enum Scheme: Equatable { case http, https, ws, wss, tcp, tls, udp, mqtt, mqtts }

    public var scheme: Scheme
    /// The numeric host ("localhost" as 127.0.0.1); `name` keeps it as written.
    public var host: String
    public var port: Int
    /// The host as written (for Host, SNI and a certificate's name), and the path with
    /// its query ("/" when there is none): what a client needs.
    public var name: String = ""
    public var path: String = "/"

    public var isTLS: Bool { scheme == .https || scheme == .wss || scheme == .tls || scheme == .mqtts }
    /// True for the schemes that speak HTTP on accept (WebSocket starts as HTTP).
    public var speaksHTTP: Bool { scheme == .http || scheme == .https || scheme == .ws || scheme == .wss }
    /// Schemes a client may use but a listener may not.
    var isConnectOnly: Bool { scheme == .udp || scheme == .mqtt || scheme == .mqtts }

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let sep = EndpointURL.find(bytes, "://") else { return nil }
        switch String(decoding: bytes[0..<sep], as: UTF8.self) {
        case "http": scheme = .http
        case "https": scheme = .https
        case "ws": scheme = .ws
        case "wss": scheme = .wss
        case "tcp": scheme = .tcp
        case "tls": scheme = .tls
        case "udp": scheme = .udp
        case "mqtt": scheme = .mqtt
        case "mqtts": scheme = .mqtts
        default: return nil
        }
        var rest = Array(bytes[(sep + 3)...])
        if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
            path = String(decoding: rest[slash...], as: UTF8.self)
            rest = Array(rest[..<slash])
        }
        var hostBytes: ArraySlice<UInt8>
        var portBytes: ArraySlice<UInt8>
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostBytes = rest[1..<close]
            portBytes = rest[(close + 1)...]
            guard portBytes.isEmpty || portBytes.first == UInt8(ascii: ":") else { return nil }
            portBytes = portBytes.dropFirst()
        } else if let colon = rest.lastIndex(of: UInt8(ascii: ":")) {
            hostBytes = rest[..<colon]
            portBytes = rest[(colon + 1)...]
        } else {
            hostBytes = rest[...]
            portBytes = []
        }
        if portBytes.isEmpty {
            switch scheme {
            case .https, .wss: port = 443
            case .mqtt: port = 1883
            case .mqtts: port = 8883
            default: port = 80
            }
        } else {
            guard portBytes.count <= 5, portBytes.allSatisfy(ASCII.isDigit) else { return nil }
            var value = 0
            for d in portBytes { value = value * 10 + Int(d - 48) }
            guard value <= 65535 else { return nil }
            port = value
        }
        host = String(decoding: hostBytes, as: UTF8.self)
        name = host
        if host.isEmpty { host = "0.0.0.0" }
        if host == "localhost" { host = "127.0.0.1" }
    }

    private static func find(_ bytes: [UInt8], _ needle: StaticString) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard bytes.count >= n else { return nil }
        for i in 0...(bytes.count - n) {
            var j = 0
            while j < n && bytes[i + j] == needle.utf8Start[j] { j += 1 }
            if j == n { return i }
        }
        return nil
    }

    /// The numeric address to bind, or nil when the host is not an IP literal.
    func address() -> SocketAddress? {
        guard let port = UInt16(exactly: port) else { return nil }  // `port` is the app's to set
        var raw = mk_addr()
        let ok = host.withCString { mk_addr_parse($0, port, &raw) } == 0
        return ok ? SocketAddress(raw: raw) : nil
    }
}

/// The name `EndpointURL` had when only `listen` used it; kept so apps that name it build.
public typealias ListenURL = EndpointURL
