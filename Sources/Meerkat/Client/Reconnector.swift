import CMeerkat

/// Keeps a client connection to a URL up, for devices: after a close (or a failed
/// connect) it connects again, waiting `minDelayMs` at first and doubling up to
/// `maxDelayMs`, each wait varied by up to ±25 % so a fleet does not reconnect in step.
/// The app hears `up` (a WebSocket open, a TCP/HTTP connect, or an MQTT CONNACK that
/// accepts) and `down`. An MQTT session made with clean session off is taken up again on
/// each reconnect, with what was in flight (Manager+MqttConnect.swift). While down,
/// `connection` is nil, and sends through it fail as on any closed connection; an MQTT
/// reconnector's own `mqttPub` keeps publishes in a fixed outbox until the broker is
/// back (Reconnector+Outbox.swift). The handler gets every event of the current
/// connection. While it runs, the manager's handler and timer keep it alive; `stop()`
/// lets it go.
public final class Reconnector {
    public let url: String
    public private(set) var connection: Connection? = nil
    public private(set) var isUp = false
    /// Connects made so far (the first included).
    public private(set) var attempts = 0
    unowned(unsafe) let manager: Manager
    private let tls: TlsOpts?
    private let mqtt: MqttOpts?
    private let minDelayMs: Int
    private let maxDelayMs: Int
    private var delayMs: Int
    private let handler: Handler
    private let onState: (Bool) -> Void
    private var stopped = false
    private var retry: Timer? = nil
    /// MQTT: publishes waiting for the broker (`Limits.mqttOutbox`), made once here.
    let outbox: MqttOutbox?

    public convenience init(
        _ manager: Manager, url: String, tls: TlsOpts? = nil, minDelayMs: Int = 500,
        maxDelayMs: Int = 30_000, handler: @escaping Handler, onState: @escaping (Bool) -> Void
    ) {
        self.init(
            manager, url: url, tls: tls, mqtt: nil, minDelayMs: minDelayMs, maxDelayMs: maxDelayMs,
            handler: handler, onState: onState)
    }

    /// Keeps an MQTT connection (`Manager.mqttConnect`) up; `up` is an accepted CONNACK.
    public convenience init(
        _ manager: Manager, mqtt url: String, opts: MqttOpts, minDelayMs: Int = 500,
        maxDelayMs: Int = 30_000, handler: @escaping Handler, onState: @escaping (Bool) -> Void
    ) {
        self.init(
            manager, url: url, tls: nil, mqtt: opts, minDelayMs: minDelayMs, maxDelayMs: maxDelayMs,
            handler: handler, onState: onState)
    }

    private init(
        _ manager: Manager, url: String, tls: TlsOpts?, mqtt: MqttOpts?, minDelayMs: Int, maxDelayMs: Int,
        handler: @escaping Handler, onState: @escaping (Bool) -> Void
    ) {
        self.manager = manager
        self.url = url
        self.tls = tls
        self.mqtt = mqtt
        self.minDelayMs = max(minDelayMs, 1)
        self.maxDelayMs = max(maxDelayMs, self.minDelayMs)
        delayMs = self.minDelayMs
        self.handler = handler
        self.onState = onState
        outbox = mqtt == nil ? nil : MqttOutbox(capacity: manager.limits.mqttOutbox, storeBytes: manager.limits.mqttOutboxBytes)
        connectNow()
    }

    /// Closes the connection and stops reconnecting.
    public func stop() {
        stopped = true
        retry?.cancel()
        connection?.close()
    }

    private func connectNow() {
        guard !stopped else { return }
        attempts += 1
        let wantsUpgrade = mqtt == nil && (url.hasPrefix("ws://") || url.hasPrefix("wss://"))
        let isMqtt = mqtt != nil
        let handler: Handler = { conn, ev in
            switch ev {
            case .mqttOpen(0) where isMqtt, .wsOpen where wantsUpgrade, .connect where !wantsUpgrade && !isMqtt:
                self.flushOutbox(conn)  // what waited goes first, before anything the app sends now
                self.handler(conn, ev)
                self.delayMs = self.minDelayMs
                self.isUp = true
                self.onState(true)
                return
            case .close:
                self.handler(conn, ev)
                self.connection = nil
                if self.isUp {
                    self.isUp = false
                    self.onState(false)
                }
                self.scheduleRetry()
                return
            case .mqttCommand where isMqtt, .write where isMqtt:
                self.handler(conn, ev)
                self.flushOutbox(conn)  // an acknowledgement or a drained block: room again
            default:
                self.handler(conn, ev)
            }
        }
        do throws(ConnectError) {
            if let opts = mqtt {
                connection = try manager.mqttConnect(url, opts: opts, handler: handler)
            } else {
                connection = try manager.connect(url, tls: tls, handler: handler)
            }
        } catch {
            connection = nil
            scheduleRetry()  // no table entry, or no address yet: try again later
        }
    }

    private func scheduleRetry() {
        guard !stopped else { return }
        var noise: UInt16 = 0
        _ = withUnsafeMutableBytes(of: &noise) { mk_random($0.baseAddress, 2) }
        // ±25 %: delay × (0.75 … 1.25).
        let wait = delayMs * 3 / 4 + Int(noise) % max(delayMs / 2 + 1, 1)
        delayMs = min(delayMs * 2, maxDelayMs)
        retry = manager.timerAdd(wait) { self.connectNow() }
    }
}
