// Generated from boards/*.mk by scripts/board-limits.sh --all (make firmware rewrites it
// when a profile changes; BoardProfileTests checks it against the profiles). Do not edit.
import Meerkat

extension Limits {
    /// The boards with a profile (boards/*.mk), for a test run with each one's limits.
    public static var boardNames: [String] { ["host", "rpi3-armhf", "rpi4"] }

    /// The limits board `name`'s firmware runs with (boards/<name>.mk), on any machine:
    /// a host test of a handler with a small board's blocks (`TestChannel(limits:)`)
    /// fails as the board would. Nil for a name with no profile.
    public init?(board name: String) {
        switch name {
        case "host":
            var l = Limits(
                maxConnections: 1024, recvBufferSize: 16384,
                sendBufferSize: 16384, recvBuffers: 128,
                sendBuffers: 128)
            l.tlsSlots = 1024
            l.tlsBufferPairs = 64
            l.tlsChaChaFirst = true
            l.reclaimGraceMs = 1000
            l.reclaimMinRate = 512
            l.wsPingIntervalMs = 30000
            l.mqttOutbox = 64
            l.mqttOutboxBytes = 16384
            l.authSessions = 32
            l.passwordIterations = 120000
            self = l
        case "rpi3-armhf":
            var l = Limits(
                maxConnections: 256, recvBufferSize: 8192,
                sendBufferSize: 8192, recvBuffers: 48,
                sendBuffers: 48)
            l.tlsSlots = 256
            l.tlsBufferPairs = 8
            l.tlsChaChaFirst = true
            l.reclaimGraceMs = 1000
            l.reclaimMinRate = 512
            l.wsPingIntervalMs = 30000
            l.mqttOutbox = 32
            l.mqttOutboxBytes = 8192
            l.authSessions = 32
            l.passwordIterations = 60000
            self = l
        case "rpi4":
            var l = Limits(
                maxConnections: 256, recvBufferSize: 16384,
                sendBufferSize: 16384, recvBuffers: 48,
                sendBuffers: 48)
            l.tlsSlots = 256
            l.tlsBufferPairs = 32
            l.tlsChaChaFirst = true
            l.reclaimGraceMs = 1000
            l.reclaimMinRate = 512
            l.wsPingIntervalMs = 30000
            l.mqttOutbox = 64
            l.mqttOutboxBytes = 16384
            l.authSessions = 32
            l.passwordIterations = 100000
            self = l
        default: return nil
        }
    }
}
