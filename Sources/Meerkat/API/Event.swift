/// What a handler is told. The payload is the docs' `data`; `code` is the docs'
/// `MG_EV_*` number, so `ev.code == MG_EV_HTTP_MSG` reads as in pymongoose.
public enum Event {
    case error(StaticString)
    case open
    case accept
    /// A client's address is known (the docs' MG_EV_RESOLVE).
    case resolve
    /// A client's TCP connection is up (MG_EV_CONNECT).
    case connect
    /// The TLS handshake is complete (the docs' MG_EV_TLS_HS).
    case tlsHandshake
    /// Bytes just read into the receive buffer.
    case read(Int)
    /// Bytes just written from the send buffer.
    case write(Int)
    case close
    /// A request head is complete; the body may not have arrived. Call
    /// `conn.streamRequestBody()` here to take a large body in `.httpBody` pieces.
    case httpHeaders(HttpMessage)
    case httpMessage(HttpMessage)
    /// One piece of a streamed request body (after `streamRequestBody()`).
    case httpBody(ByteView)
    /// Data passed to `Manager.wakeup` for this connection.
    case wakeup(ByteView)
    /// The connection is a WebSocket now (after `wsUpgrade`); the upgrade request.
    case wsOpen(HttpMessage)
    /// A whole message (or, after `wsStreamMessages()`, a piece of one).
    case wsMessage(WsMessage)
    /// A ping, pong or close frame (pings are answered, closes echoed, by the library).
    case wsControl(WsMessage)
    /// MQTT: the broker's CONNACK, with its return code (0: accepted; 1–5: refused, and
    /// the connection closes).
    case mqttOpen(Int)
    /// MQTT: an application message from the broker.
    case mqttMessage(MqttMessage)
    /// MQTT: every packet from the broker, once the library has acted on it (after
    /// `.mqttOpen` or `.mqttMessage`; a PUBACK's message is no longer in flight).
    case mqttCommand(MqttPacket)

    /// An SNTP client's answer: Unix time in ms when it arrived (the docs'
    /// MG_EV_SNTP_TIME; `Manager.sntpConnect`).
    case sntpTime(Int64)

    public var code: Int {
        switch self {
        case .error: return MG_EV_ERROR
        case .open: return MG_EV_OPEN
        case .accept: return MG_EV_ACCEPT
        case .resolve: return MG_EV_RESOLVE
        case .connect: return MG_EV_CONNECT
        case .tlsHandshake: return MG_EV_TLS_HS
        case .read: return MG_EV_READ
        case .write: return MG_EV_WRITE
        case .close: return MG_EV_CLOSE
        case .httpHeaders: return MG_EV_HTTP_HDRS
        case .httpMessage: return MG_EV_HTTP_MSG
        case .httpBody: return MK_EV_HTTP_BODY
        case .wakeup: return MG_EV_WAKEUP
        case .wsOpen: return MG_EV_WS_OPEN
        case .wsMessage: return MG_EV_WS_MSG
        case .wsControl: return MG_EV_WS_CTL
        case .mqttOpen: return MG_EV_MQTT_OPEN
        case .mqttMessage: return MG_EV_MQTT_MSG
        case .mqttCommand: return MG_EV_MQTT_CMD
        case .sntpTime: return MG_EV_SNTP_TIME
        }
    }
}

// No MG_EV_POLL (2) nor MG_EV_USER (20): never delivered (README, "pymongoose →
// Meerkat" says why); the other numbers stay the docs'.
public let MG_EV_ERROR = 0
public let MG_EV_OPEN = 1
public let MG_EV_RESOLVE = 3
public let MG_EV_CONNECT = 4
public let MG_EV_ACCEPT = 5
public let MG_EV_TLS_HS = 6
public let MG_EV_READ = 7
public let MG_EV_WRITE = 8
public let MG_EV_CLOSE = 9
public let MG_EV_HTTP_HDRS = 10
public let MG_EV_HTTP_MSG = 11
public let MG_EV_WS_OPEN = 12
public let MG_EV_WS_MSG = 13
public let MG_EV_WS_CTL = 14
public let MG_EV_MQTT_CMD = 15
public let MG_EV_MQTT_MSG = 16
public let MG_EV_MQTT_OPEN = 17
public let MG_EV_SNTP_TIME = 18
public let MG_EV_WAKEUP = 19
/// Meerkat's own events are numbered from 100, clear of the docs' user range.
public let MK_EV_HTTP_BODY = 100

/// A handler: the docs' `handler(conn, ev, data)`, with `data` inside `ev`.
public typealias Handler = (Connection, Event) -> Void
