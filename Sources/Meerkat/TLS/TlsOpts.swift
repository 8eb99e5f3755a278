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

    public init(
        ca: [UInt8] = [], cert: [UInt8] = [], key: [UInt8] = [], name: String = "",
        skipVerification: Bool = false
    ) {
        self.ca = ca
        self.cert = cert
        self.key = key
        self.name = name
        self.skipVerification = skipVerification
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
        }
    }
}
