import Meerkat

/// --mqtt URL: the board on an MQTT broker, kept connected by a `Reconnector`.
/// - `meerkat/<device>/status`: the status JSON (as /api/status, with "online": true)
///   every report interval, QoS 1, retained; the will puts `{"name":…,"online":false}`
///   there, retained, when the board vanishes without DISCONNECT.
/// - `meerkat/<device>/cmd`: text commands, answered on `meerkat/<device>/reply`:
///   `interval N` (1–3600 s: saved like the dashboard's form), `status` (published now).
/// <device> is the settings' name at start, with anything a topic level may not hold
/// ('/', '+', '#') as '-'.
final class MqttLink {
    let statusTopic: String, commandTopic: String, replyTopic: String
    private(set) var reconnector: Reconnector? = nil
    private var timer: Timer? = nil
    private let online: () -> [UInt8]

    init(
        _ manager: Manager, url: String, device: String, user: String?, password: String?, ca: [UInt8]?,
        online: @escaping () -> [UInt8], command: @escaping (String) -> String
    ) {
        let level = String(decoding: device.utf8.map { $0 == 0x2F || $0 == 0x2B || $0 == 0x23 ? 0x2D : $0 }, as: UTF8.self)
        statusTopic = "meerkat/" + level + "/status"
        commandTopic = "meerkat/" + level + "/cmd"
        replyTopic = "meerkat/" + level + "/reply"
        self.online = online
        let offline = jsonObject { o in
            o.add("name", device)
            o.add("online", false)
        }
        var opts = MqttOpts(
            username: user, password: password, keepAlive: 30,
            will: MqttWill(topic: statusTopic, message: offline, qos: 1, retain: true))
        if let ca { opts.tls = TlsOpts(ca: ca) }
        let (commands, replies) = (commandTopic, replyTopic)
        reconnector = Reconnector(
            manager, mqtt: url, opts: opts,
            handler: { conn, ev in
                switch ev {
                case .mqttOpen(0):
                    _ = try? conn.mqttSub(commands, qos: 1)
                    self.publishStatus()
                case let .mqttMessage(m) where m.topic.string == commands:
                    _ = try? conn.mqttPub(replies, command(m.payload.string), qos: 1)
                case let .error(why):
                    print("mqtt: \(why)")
                default:
                    break
                }
            }, onState: { up in print(up ? "mqtt: up" : "mqtt: down") })
    }

    /// Publishes the status now, and every `periodMs` from now on.
    func report(every periodMs: Int, on manager: Manager) {
        timer?.cancel()
        timer = manager.timerAdd(periodMs, repeat: true) { self.publishStatus() }
    }

    /// While the broker is away nothing is queued: the next report after it returns
    /// carries the news.
    func publishStatus() {
        _ = try? reconnector?.connection?.mqttPub(statusTopic, online(), qos: 1, retain: true)
    }
}
