import CMeerkat

/// The parsed certificates and keys of a manager, each with the `mbedtls_ssl_config` its
/// sessions share. Found by content: options built afresh on every accept (the guide's
/// way) with the same bytes find the entry made the first time, so a certificate is
/// parsed once, not per connection as in Mongoose. A small fixed table, made when TLS is
/// first used, with the engine (DRBG and ticket keys) that every entry shares.
struct TlsConfigTable {
    /// Distinct certificate/key pairs (and client settings) one manager serves.
    static let capacity = 4

    private struct Entry {
        let ca: [UInt8]
        let cert: [UInt8]
        let key: [UInt8]
        let skipVerification: Bool
        let isServer: Bool
        let alpn: String
        let config: OpaquePointer

        func matches(_ o: TlsOpts, server: Bool, alpn list: String) -> Bool {
            // Array == compares storage identity first: the guide's arrays match at once.
            isServer == server && skipVerification == o.skipVerification && alpn == list && cert == o.cert
                && key == o.key && ca == o.ca
        }
    }

    private var entries: [Entry] = []
    private var engine: OpaquePointer? = nil

    /// The index of the config for `opts`, parsing them the first time they are seen.
    /// `defaultALPN`: the protocols (comma-separated, "" for none) when `opts.alpn` is nil.
    mutating func index(
        for opts: TlsOpts, server: Bool, defaultALPN: String = "", limits: Limits
    ) throws(TlsError) -> Int32 {
        guard let alpn = opts.alpnList(byDefault: defaultALPN) else { throw .badALPN }
        for i in 0..<entries.count where entries[i].matches(opts, server: server, alpn: alpn) { return Int32(i) }
        guard entries.count < TlsConfigTable.capacity else { throw .tooManyConfigs }
        if engine == nil {
            let order = limits.tlsChaChaFirst ? MK_TLS_CHACHA_FIRST : MK_TLS_AES_FIRST
            engine = mk_tls_engine_new(Int32(order), UInt32(limits.tlsTicketLifetimeS))
            guard engine != nil else { throw .setupFailed }
            entries.reserveCapacity(TlsConfigTable.capacity)
        }
        var code: Int32 = 0
        let made = opts.cert.withUnsafeBufferPointer { cert in
            opts.key.withUnsafeBufferPointer { key in
                opts.ca.withUnsafeBufferPointer { ca in
                    mk_tls_config_new(
                        engine, server ? 1 : 0, cert.baseAddress, cert.count, key.baseAddress, key.count,
                        ca.baseAddress, ca.count, opts.skipVerification ? 1 : 0, &code)
                }
            }
        }
        guard let config = made else { throw TlsError(code: code) }
        guard mk_tls_config_alpn(config, alpn) == 0 else {
            mk_tls_config_free(config)
            throw .badALPN
        }
        entries.append(
            Entry(
                ca: opts.ca, cert: opts.cert, key: opts.key, skipVerification: opts.skipVerification,
                isServer: server, alpn: alpn, config: config))
        return Int32(entries.count - 1)
    }

    func config(_ index: Int32) -> OpaquePointer { entries[Int(index)].config }

    /// Configs made so far.
    var count: Int { entries.count }

    mutating func free() {
        for e in entries { mk_tls_config_free(e.config) }
        entries.removeAll()
        mk_tls_engine_free(engine)
        engine = nil
    }
}
