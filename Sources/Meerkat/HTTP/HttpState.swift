/// HTTP's per-connection state in the slot (beside `WsState`, `TlsState` and
/// `BodyStream`): what the current request is, and how far its answer has gone. Two
/// bytes. The loop's own lifecycle bits stay in `Slot.Flags`.
struct HttpState {
    struct Flags: OptionSet {
        let rawValue: UInt16
        static let awaitingReply = Flags(rawValue: 1 << 0)  // a request was delivered, no reply yet
        static let headersDelivered = Flags(rawValue: 1 << 1)
        static let streamingBody = Flags(rawValue: 1 << 2)  // handler asked for body pieces
        static let keepAlive = Flags(rawValue: 1 << 3)  // current request keeps the connection
        static let headRequest = Flags(rawValue: 1 << 4)  // current request is HEAD
        static let http10 = Flags(rawValue: 1 << 5)  // current request is HTTP/1.0
        static let sentContinue = Flags(rawValue: 1 << 6)  // 100 Continue sent for this request
        static let chunkedReply = Flags(rawValue: 1 << 7)  // a chunked response is open
        static let replyFailed = Flags(rawValue: 1 << 8)  // a reply to the awaited request threw
        static let answered = Flags(rawValue: 1 << 9)  // the current request has its (final) reply
        static let bodyPending = Flags(rawValue: 1 << 10)  // in .httpHeaders, the body not all here
        static let eventStream = Flags(rawValue: 1 << 11)  // the open chunked reply is server-sent events
    }

    var flags: Flags = []
}
