/// A WebSocket connection's state in its slot: the message being received, the frame
/// being streamed, and the close handshake. A few bytes; no buffer of its own.
struct WsState {
    /// The opcode (text or binary) of the message in progress; 0 between messages.
    var messageOpcode: UInt8 = 0
    /// Text messages are checked as they arrive, across fragments.
    var utf8 = Utf8Validator()
    /// Our close frame has been queued: nothing more is sent.
    var closeSent = false
    /// The app takes messages in pieces (`wsStreamMessages()`).
    var streaming = false
    /// Whole-message mode: payload of the fragments so far, gathered at the buffer's front.
    var assembled: Int32 = 0
    /// Streaming mode: the data frame whose payload is still arriving.
    var frameRemaining: UInt64 = 0
    var frameMask: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    var frameOffset: UInt8 = 0
    var frameFin = false
    var inFrame = false
    /// Streaming mode: a piece of the current message has gone to the app already.
    var messageStarted = false
    /// Pongs sent in the current second (`pongSecond`, the loop's clock / 1000): a peer
    /// pinging faster than `WsState.pongsPerSecond` gets no pong for the rest.
    var pongsThisSecond: UInt8 = 0
    /// The app's broadcast group (`conn.wsGroup`); here, it fills a padding byte.
    var group: UInt8 = 0
    var pongSecond: UInt16 = 0
    /// RFC 6455 §5.5.3 lets an endpoint answer only the latest of the pings it has not
    /// yet answered; a flood of them gets a few pongs a second instead of costing a
    /// write each. A client keeping a connection alive pings every few seconds at most.
    static let pongsPerSecond: UInt8 = 16

    /// Whether a ping that came at `nowMs` gets its pong (and counts it).
    mutating func takePong(nowMs: Int64) -> Bool {
        let second = UInt16(truncatingIfNeeded: nowMs / 1000)
        if second != pongSecond {
            pongSecond = second
            pongsThisSecond = 0
        }
        guard pongsThisSecond < WsState.pongsPerSecond else { return false }
        pongsThisSecond += 1
        return true
    }
}
