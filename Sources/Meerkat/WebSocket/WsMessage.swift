/// A WebSocket message or control frame, as a view into the receive buffer (the docs'
/// `WsMessage`): valid during the handler call that received it.
public struct WsMessage {
    /// The payload (unmasked; a whole message, or a piece in streaming mode).
    public let data: ByteView
    /// `WEBSOCKET_OP_TEXT`, `_BINARY`, `_CLOSE`, `_PING` or `_PONG`.
    public let opcode: Int
    /// Streaming mode (`wsStreamMessages()`): whether this piece starts / ends its
    /// message. A whole message is both.
    public let isFirst: Bool
    public let isLast: Bool

    /// The docs' `flags`: the opcode alone, so `wm.flags == WEBSOCKET_OP_TEXT` works
    /// (pymongoose handed over the raw first byte, FIN bit included).
    public var flags: Int { opcode }
    /// The payload as text (a copy; invalid UTF-8 is repaired, though text messages
    /// are validated before they arrive).
    public var text: String { data.string }

    /// A close frame's status code (1005 when it carried none).
    public var closeCode: Int {
        guard opcode == WEBSOCKET_OP_CLOSE, data.count >= 2 else { return 1005 }
        return Int(data[0]) << 8 | Int(data[1])
    }

    /// A close frame's reason.
    public var closeReason: ByteView {
        guard opcode == WEBSOCKET_OP_CLOSE, data.count > 2 else { return .empty }
        return data.slice(2, data.count)
    }
}

public let WEBSOCKET_OP_CONTINUE = 0
public let WEBSOCKET_OP_TEXT = 1
public let WEBSOCKET_OP_BINARY = 2
public let WEBSOCKET_OP_CLOSE = 8
public let WEBSOCKET_OP_PING = 9
public let WEBSOCKET_OP_PONG = 10
