import CMeerkat

/// Who the peer of a TLS connection is, from its certificate: what an app authorises a
/// client certificate by (`conn.tlsPeer` from `.tlsHandshake` on). Read from mbedTLS when
/// asked, into fixed storage on the stack; the connection keeps nothing for it.
public struct TlsPeer {
    /// The subject's common name, "" when it has none (its first 64 bytes).
    public let commonName: String
    /// The subjectAltName DNS names, in the certificate's order (at most 8, 255 bytes).
    public let dnsNames: [String]
    /// The CN was longer than 64 bytes, or the certificate had more DNS names than fit.
    public let truncated: Bool
    /// SHA-256 of the certificate's DER bytes.
    public let sha256: [UInt8]

    /// The SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it
    /// (uppercase hex, colon-separated).
    public var fingerprint: String {
        var text = ""
        text.reserveCapacity(95)
        let digits: StaticString = "0123456789ABCDEF"
        for (i, byte) in sha256.enumerated() {
            if i > 0 { text += ":" }
            text.unicodeScalars.append(Unicode.Scalar(digits.utf8Start[Int(byte >> 4)]))
            text.unicodeScalars.append(Unicode.Scalar(digits.utf8Start[Int(byte & 15)]))
        }
        return text
    }

    /// The identity in a certificate's PEM or DER bytes (a certificate file an app pins,
    /// tests); nil when they do not parse.
    public init?(certificate: [UInt8]) {
        var peer = mk_tls_peer()
        guard certificate.withUnsafeBufferPointer({ mk_tls_parse_identity($0.baseAddress, $0.count, &peer) }) == 0
        else { return nil }
        self.init(peer)
    }

    init(_ p: mk_tls_peer) {
        commonName = withUnsafeBytes(of: p.cn) { String(decoding: $0.prefix(Int(p.cn_len)), as: UTF8.self) }
        var names: [String] = []
        names.reserveCapacity(Int(p.name_count))
        withUnsafeBytes(of: p.names) { packed in
            withUnsafeBytes(of: p.name_len) { lengths in
                var at = 0
                for len in lengths.prefix(Int(p.name_count)) {
                    names.append(String(decoding: packed[at..<at + Int(len)], as: UTF8.self))
                    at += Int(len)
                }
            }
        }
        dnsNames = names
        sha256 = withUnsafeBytes(of: p.sha256) { Array($0) }
        truncated = p.cn_truncated != 0 || p.names_truncated != 0
    }
}

extension Connection {
    /// The peer's certificate, from `.tlsHandshake` until the connection closes: for a
    /// client, the server's (checked, unless `skipVerification`); for a server, the
    /// client's when it asked for one (`TlsOpts` with a `ca`: only a certificate that CA
    /// signed gets this far). nil otherwise.
    public var tlsPeer: TlsPeer? {
        guard let session = manager.openTlsSession(self) else { return nil }
        var peer = mk_tls_peer()
        guard mk_tls_peer_identity(session, &peer) == 0 else { return nil }
        return TlsPeer(peer)
    }

    /// The protocol ALPN agreed on in the TLS handshake (`http/1.1`, `mqtt`; see
    /// `TlsOpts.alpn`), from `.tlsHandshake` on; nil when none was (or not TLS).
    public var alpn: String? {
        guard let session = manager.openTlsSession(self), let name = mk_tls_alpn(session) else { return nil }
        return String(cString: name)
    }

    /// Whether the TLS handshake resumed an earlier session (a ticket or session ID)
    /// rather than making a new one, from `.tlsHandshake` on: on a client, the session
    /// kept from its last connection to this server; on a server, a client's ticket.
    public var tlsResumed: Bool {
        guard let session = manager.openTlsSession(self) else { return false }
        return mk_tls_resumed(session) != 0
    }
}

extension Manager {
    /// The session of a connection whose handshake is complete.
    func openTlsSession(_ conn: Connection) -> OpaquePointer? {
        guard let s = live(conn), slots[Int(s)].tls.session >= 0,
            slots[Int(s)].tls.phase == .open || slots[Int(s)].tls.phase == .notified
        else { return nil }
        return services.tlsSessions.session(Int32(slots[Int(s)].tls.session))
    }
}
