import CMeerkat

/// TLS settings: the docs' `TlsOpts(ca, cert, key, name, skip_verification)`. Certificates
/// and keys are PEM or DER bytes; `TlsOpts.files` reads them from paths. Building one per
/// accept (as the guide does) costs nothing: the bytes are shared arrays, and the
/// manager parses each distinct certificate/key once (`TlsConfigTable`).
public struct TlsOpts {
    /// For a server: the CA client certificates must chain to (asks for one when set).
    /// For a client: the CA the server's certificate must chain to.
    public var ca: [UInt8]
    public var cert: [UInt8]
    public var key: [UInt8]
    /// The server name a client checks (and sends as SNI).
    public var name: String
    /// A client that does not check the server's certificate (tests only).
    public var skipVerification: Bool
    /// ALPN (RFC 7301), most preferred first: the protocols a client offers, or those a
    /// server accepts (a client offering only others is refused). nil: the default for
    /// the connection, `http/1.1` for HTTP and WebSocket (listeners and clients), `mqtt`
    /// for an `mqtts://` client, none for raw TLS; `[]`: none. At most 4 names, 63 bytes
    /// with a comma between each. The one agreed on is `conn.alpn`.
    public var alpn: [String]?
    /// A client's check of the certificate's dates while the time is unknown (no SNTP
    /// answer yet); nil: the manager's `tlsTimePolicy`.
    public var timePolicy: TlsTimePolicy?

    public init(
        ca: [UInt8] = [], cert: [UInt8] = [], key: [UInt8] = [], name: String = "",
        skipVerification: Bool = false, alpn: [String]? = nil, timePolicy: TlsTimePolicy? = nil
    ) {
        self.ca = ca
        self.cert = cert
        self.key = key
        self.name = name
        self.skipVerification = skipVerification
        self.alpn = alpn
        self.timePolicy = timePolicy
    }

    /// The ALPN list as the C shim takes it: the names joined with commas, or `byDefault`
    /// when `alpn` is nil; nil when a name is empty or holds a comma.
    func alpnList(byDefault: String) -> String? {
        guard let names = alpn else { return byDefault }
        var list = ""
        for name in names {
            guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: ",")) else { return nil }
            if !list.isEmpty { list += "," }
            list += name
        }
        return list
    }

    /// Options from PEM or DER files (`ca` may be omitted). Throws the file's error.
    public static func files(cert: String, key: String, ca: String? = nil) throws(FileError) -> TlsOpts {
        TlsOpts(
            ca: try ca.map { (path) throws(FileError) in try File.contents(path) } ?? [],
            cert: try File.contents(cert), key: try File.contents(key))
    }
}

/// Why TLS could not be set up.
public enum TlsError: Error, Equatable, CustomStringConvertible {
    case badCertificate
    case badKey
    /// The key is not the certificate's.
    case keyMismatch
    case badCA
    /// A server needs a certificate and a key.
    case noCertificate
    /// More distinct certificates than the manager's table holds (`TlsConfigTable.capacity`).
    case tooManyConfigs
    /// The random generator could not be seeded, or memory ran out.
    case setupFailed
    /// An ALPN name is empty or holds a comma, or there are too many (`TlsOpts.alpn`).
    case badALPN

    init(code: Int32) {
        switch Int(code) {
        case MK_TLS_ERR_CERT: self = .badCertificate
        case MK_TLS_ERR_KEY: self = .badKey
        case MK_TLS_ERR_MISMATCH: self = .keyMismatch
        case MK_TLS_ERR_CA: self = .badCA
        case MK_TLS_ERR_NO_CERT: self = .noCertificate
        default: self = .setupFailed
        }
    }

    public var description: String {
        String(decoding: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), as: UTF8.self)
    }

    /// The description without a `String` (for `Event.error`).
    var text: StaticString {
        switch self {
        case .badCertificate: return "TLS: cannot parse the certificate"
        case .badKey: return "TLS: cannot parse the private key"
        case .keyMismatch: return "TLS: the key does not fit the certificate"
        case .badCA: return "TLS: cannot parse the CA certificate"
        case .noCertificate: return "TLS: a server needs a certificate and a key"
        case .tooManyConfigs: return "TLS: too many distinct certificates"
        case .setupFailed: return "TLS: cannot set up (random source or memory)"
        case .badALPN: return "TLS: bad ALPN list (at most 4 names, 63 bytes in all, no commas)"
        }
    }
}
