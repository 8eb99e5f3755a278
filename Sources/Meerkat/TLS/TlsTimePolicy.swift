/// How a TLS client checks the server certificate's dates while the time is not known
/// (no SNTP answer yet: a board without a clock boots in 1970). Issue 26; README "Time
/// on boards without a clock".
public enum TlsTimePolicy: Equatable, Sendable {
    /// Check now, against the trusted clock (`Manager.timeMs`): the system's time, but
    /// never earlier than the firmware's build time. An expired certificate is refused
    /// as it would be with the right time, and one issued after the build is "not yet
    /// valid" until SNTP answers. The default.
    case checkWithFloor
    /// Wait: the connection's TCP is made, but no handshake starts (and `.connect` does
    /// not come) until an SNTP answer (`sntpConnect`) syncs the clock. Not synced within
    /// `timeoutMs`: `.error` ("TLS: the time is not known…", ETIMEDOUT) and `.close`.
    case deferUntilSynced(timeoutMs: Int = 30_000)
}

extension Manager {
    /// The policy of TLS clients whose `TlsOpts.timePolicy` is nil (`.checkWithFloor`
    /// unless set).
    public var tlsTimePolicy: TlsTimePolicy {
        get { services.tlsTimePolicy }
        set { services.tlsTimePolicy = newValue }
    }

    /// How long a new TLS client to `opts` waits for the time: 0 for none.
    func timeWaitMs(_ opts: TlsOpts?) -> Int64 {
        guard !timeSynced, case .deferUntilSynced(let ms) = opts?.timePolicy ?? services.tlsTimePolicy else { return 0 }
        return Int64(max(ms, 1))
    }
}
