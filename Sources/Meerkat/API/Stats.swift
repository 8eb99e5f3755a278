/// What the fixed pools have been through since the manager started: for sizing a
/// board's `Limits`, and for seeing pressure (and reclaim) on a running board.
public struct PoolStats {
    public let blocks: Int
    public let free: Int
    /// The fewest blocks that were free at once.
    public let lowestFree: Int
}

public struct ManagerStats {
    public let receive: PoolStats
    public let send: PoolStats
    /// Connections closed because they held blocks without progress under pressure.
    public let evictions: Int
    public let connections: Int
    /// The TLS session pool (`Limits.tlsSlots`), and handshakes completed (both sides),
    /// of which those that resumed a session (a server taking a ticket, a client
    /// resuming its last session with that server).
    public let tlsSessions: PoolStats
    public let tlsHandshakes: Int
    public let tlsResumed: Int
    /// The TLS record-buffer pairs (`Limits.tlsBufferPairs`): its lowest free shows how
    /// far the connections shared them; and how often an idle session gave its pair back
    /// (parks) and took one again (unparks).
    public let tlsPairs: PoolStats
    public let tlsParks: Int
    public let tlsUnparks: Int
}

extension Manager {
    public var stats: ManagerStats {
        ManagerStats(
            receive: PoolStats(blocks: recvPool.blockCount, free: recvPool.freeCount, lowestFree: recvPool.lowestFree),
            send: PoolStats(blocks: sendPool.blockCount, free: sendPool.freeCount, lowestFree: sendPool.lowestFree),
            evictions: evictions, connections: counts.connections,
            tlsSessions: servicesTlsPool, tlsHandshakes: servicesTlsHandshakes,
            tlsResumed: servicesTlsResumed,
            tlsPairs: servicesTlsPairs, tlsParks: servicesTlsParks.parks, tlsUnparks: servicesTlsParks.unparks)
    }
}
