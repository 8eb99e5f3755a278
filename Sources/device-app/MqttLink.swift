import Meerkat
import MeerkatApp

/// --mqtt URL: the board on an MQTT broker, kept connected by a `Reconnector`.
/// - `meerkat/<device>/status`: the status JSON (as /api/status, with "online": true)
///   every report interval, QoS 1, retained; the will puts `{"name":…,"online":false}`
///   there, retained, when the board vanishes without DISCONNECT.
/// - `meerkat/<device>/cmd`: text commands, answered on `meerkat/<device>/reply`:
///   `interval N` (1–3600 s: saved like the dashboard's form), `status` (published now).
/// - `meerkat/<device>/ota`: a manifest URL (`make ota-image`'s manifest.json): the board
///   pulls that update now (OtaPull.swift); what became of it is published, retained, on
///   `meerkat/<device>/ota/status`. Anyone who may publish there can send one, so the
///   image still has to pass the signature check before it is installed.
/// <device> is the settings' name at start, with anything a topic level may not hold
/// ('/', '+', '#') as '-'.
final class MqttLink {
    let statusTopic: String, commandTopic: String, replyTopic: String, otaTopic: String
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
        otaTopic = "meerkat/" + level + "/ota"
        self.online = online
        let offline = jsonObject { o in
            o.add("name", device)
            o.add("online", false)
        }
        var opts = MqttOpts(
            username: user, password: password, keepAlive: 30,
            will: MqttWill(topic: statusTopic, message: offline, qos: 1, retain: true))
        if let ca { opts.tls = TlsOpts(ca: ca) }
        let (commands, replies, ota) = (commandTopic, replyTopic, otaTopic)
        reconnector = Reconnector(
            manager, mqtt: url, opts: opts,
            handler: { conn, ev in
                switch ev {
                case .mqttOpen(0):
                    _ = try? conn.mqttSub(commands, qos: 1)
                    _ = try? conn.mqttSub(ota, qos: 1)
                    self.publishStatus()
                case let .mqttMessage(m) where m.topic.string == commands:
                    _ = try? conn.mqttPub(replies, command(m.payload.string), qos: 1)
                case let .mqttMessage(m) where m.topic.string == ota:
                    otaCommand(m.payload.string) { outcome in self.publishOta(outcome) }
                case let .error(why):
                    print("mqtt: \(why)")
                default:
                    break
                }
            },
            onState: { up in
                print(up ? "mqtt: up" : "mqtt: down")
                if up { confirmHealth() }  // Updates.swift: the release works
                AppOptions.flushOutput()  // at once in the journal (and to a test waiting for it)
            })
    }

    /// Publishes the status now, and every `periodMs` from now on.
    func report(every periodMs: Int, on manager: Manager) {
        timer?.cancel()
        timer = manager.timerAdd(periodMs, repeat: true) { self.publishStatus() }
    }

    /// An update's progress or outcome, retained: whoever asks later sees the last one.
    func publishOta(_ text: String) {
        _ = try? reconnector?.connection?.mqttPub(otaTopic + "/status", text, qos: 1, retain: true)
    }

    /// While the broker is away nothing is queued: the next report after it returns
    /// carries the news.
    func publishStatus() {
        _ = try? reconnector?.connection?.mqttPub(statusTopic, online(), qos: 1, retain: true)
    }
}
