/// What the server does about requests a browser makes on behalf of another site
/// (`manager.originPolicy`). On by default: a browser's state-changing request from
/// another origin gets 403 before any handler sees it, and so does a cross-origin
/// WebSocket upgrade. The Host allow-list (DNS rebinding) is off until an app sets
/// `hosts`. README "Cross-origin and DNS rebinding" says why each rule is as it is.
public struct OriginPolicy {
    /// Refuse (403) a POST, PUT, PATCH or DELETE whose `Origin` is another origin, or
    /// that has no `Origin` but a `Sec-Fetch-Site` other than `same-origin` or `none`
    /// (`same-site` is another origin too). A request with neither header is not from a
    /// current browser and goes through, unless `requireCSRFToken`.
    public var checkWrites = true
    /// Refuse (403) a WebSocket upgrade whose `Origin` is another origin (checked by
    /// `wsUpgrade`; `wsUpgrade(hm, anyOrigin: true)` opts one route out). An upgrade with
    /// no `Origin` (not a browser) goes through.
    public var checkWebSocket = true
    /// Other origins allowed to write and to open WebSockets, e.g.
    /// `"https://console.example:8443"`; `"*"` allows every origin.
    public var allowedOrigins: [String] = []
    /// Path prefixes whose writes take any origin (a webhook, an API meant for other
    /// sites); their handlers must protect themselves.
    public var crossOriginPaths: [String] = []
    /// When set, a state-changing request with neither `Origin` nor `Sec-Fetch-Site`
    /// must carry `X-CSRF-Token: <manager.csrfToken>` or it gets 403.
    public var requireCSRFToken = false
    /// The Host allow-list against DNS rebinding: nil (the default) serves any Host;
    /// otherwise a request whose Host is not an IP literal, `localhost` or one of these
    /// names (any case, port ignored) gets 421 Misdirected Request.
    public var hosts: [String]? = nil

    public init() {}

    /// Every cross-origin check off: what an app that serves other sites on purpose sets.
    public static var allowCrossOrigin: OriginPolicy {
        var p = OriginPolicy()
        p.checkWrites = false
        p.checkWebSocket = false
        return p
    }

    /// Whether a WebSocket upgrade may go on: no `Origin`, the request's own origin, or
    /// one on the allow-list.
    func allowsUpgrade(_ hm: HttpMessage, tls: Bool) -> Bool {
        guard checkWebSocket, let origin = hm.header("Origin") else { return true }
        return allowsOrigin(origin, hm, tls: tls)
    }

    private func allowsOrigin(_ origin: ByteView, _ hm: HttpMessage, tls: Bool) -> Bool {
        if let host = hm.host, OriginCheck.sameOrigin(origin.trimmingSpaces(), host: host, tls: tls) { return true }
        return OriginCheck.listed(origin.trimmingSpaces(), in: allowedOrigins)
    }

    /// Why a request must be refused before its handler sees it, or nil to serve it.
    func verdict(_ hm: HttpMessage, tls: Bool, csrfToken: String?) -> Refusal? {
        if let hosts, let host = hm.host, !OriginCheck.hostAllowed(host, names: hosts) { return .unknownHost }
        guard checkWrites, Self.changesState(hm.method), !onCrossOriginPath(hm.uri) else { return nil }
        if let origin = hm.header("Origin") {
            return allowsOrigin(origin, hm, tls: tls) ? nil : .crossOrigin
        }
        if let site = hm.header("Sec-Fetch-Site")?.trimmingSpaces() {
            return site.equalsIgnoringCase("same-origin") || site.equalsIgnoringCase("none") ? nil : .crossOrigin
        }
        guard requireCSRFToken else { return nil }
        guard let token = csrfToken, let sent = hm.header("X-CSRF-Token")?.trimmingSpaces() else { return .noToken }
        var copy = token
        return copy.withUTF8 { Crypto.constantTimeEquals(sent.buffer, UnsafeRawBufferPointer($0)) } ? nil : .noToken
    }

    enum Refusal {
        case unknownHost, crossOrigin, noToken

        var status: Int { self == .unknownHost ? 421 : 403 }
        var body: StaticString {
            switch self {
            case .unknownHost: return "Unknown Host: this server does not answer to that name\n"
            case .crossOrigin: return "Cross-origin request refused\n"
            case .noToken: return "Missing or wrong X-CSRF-Token\n"
            }
        }
    }

    static func changesState(_ method: ByteView) -> Bool {
        // Bytes against StaticStrings (no String made): this runs on every request.
        let m: StaticString
        switch method.count {
        case 3: m = "PUT"
        case 4: m = "POST"
        case 5: m = "PATCH"
        case 6: m = "DELETE"
        default: return false
        }
        // The first byte tells GET from PUT, HEAD from POST, with no compare call.
        return method.buffer[0] == m.utf8Start.pointee && method.equals(m.rawBuffer)
    }

    private func onCrossOriginPath(_ path: ByteView) -> Bool {
        for prefix in crossOriginPaths {
            var copy = prefix
            let hit = copy.withUTF8 { p in path.count >= p.count && path.slice(0, p.count).equals(UnsafeRawBufferPointer(p)) }
            if hit { return true }
        }
        return false
    }
}

extension Manager {
    /// The cross-origin and Host rules every request passes before its handler (see
    /// `OriginPolicy`). Set it before serving; `.allowCrossOrigin` turns the checks off.
    public var originPolicy: OriginPolicy {
        get { services.originPolicy }
        set { services.originPolicy = newValue }
    }

    /// This process's CSRF token: 32 hex digits from the DRBG, made on first use and kept
    /// until exit. Pages put it in `X-CSRF-Token` (see `OriginPolicy.requireCSRFToken`);
    /// a form field can be checked with `csrfTokenMatches`. Nil without an entropy source.
    public var csrfToken: String? {
        if let t = services.csrfToken { return t }
        var raw: (UInt64, UInt64) = (0, 0)
        let ok = withUnsafeMutableBytes(of: &raw) { random(into: $0) }
        guard ok else { return nil }
        var hex = ""
        withUnsafeBytes(of: raw) { bytes in
            for b in bytes {
                hex.append(Character(Unicode.Scalar(Self.hexDigits[Int(b >> 4)])))
                hex.append(Character(Unicode.Scalar(Self.hexDigits[Int(b & 15)])))
            }
        }
        services.csrfToken = hex
        return hex
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether `value` (a form field, a header) is this process's CSRF token, compared
    /// in constant time.
    public func csrfTokenMatches(_ value: ByteView) -> Bool {
        guard var token = csrfToken else { return false }
        return token.withUTF8 { Crypto.constantTimeEquals(value.buffer, UnsafeRawBufferPointer($0)) }
    }

    /// Applies the policy to a request whose head just arrived; true when it was refused
    /// (answered and the connection closing, as for bad input).
    func refuseByOrigin(_ s: Int32, _ head: RequestHead) -> Bool {
        // The common case first, with no message built and no policy copied: a read
        // (GET, HEAD) with no Host list to check.
        if services.originPolicy.hosts == nil {
            guard services.originPolicy.checkWrites else { return false }
            let method = receiveBuffer(s).baseAddress!.assumingMemoryBound(to: UInt8.self) + Int(head.methodStart)
            guard OriginPolicy.changesState(ByteView(base: UnsafePointer(method), count: Int(head.methodEnd - head.methodStart))) else {
                return false
            }
        }
        let policy = services.originPolicy
        let token = policy.requireCSRFToken ? csrfToken : nil
        guard let refusal = policy.verdict(message(s, head, body: .empty), tls: isTLS(s), csrfToken: token) else {
            return false
        }
        Log.conn(.info, s, refusal == .unknownHost ? "refused: unknown Host" : "refused: cross-origin request")
        slots[Int(s)].recvStart = slots[Int(s)].recvEnd  // its body is not read
        slots[Int(s)].http.flags.remove([.keepAlive, .headRequest, .answered])
        try? sendReply(
            s, status: refusal.status, body: Payload(borrowed: refusal.body.rawBuffer),
            headers: ["Content-Type": "text/plain"], extra: ErrorHeaders.lines)
        if !slots[Int(s)].flags.contains(.draining) { scheduleClose(s) }
        return true
    }

    func isTLS(_ s: Int32) -> Bool { slots[Int(s)].tls.phase != .none }
}
