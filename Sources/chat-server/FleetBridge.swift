import Meerkat
import MeerkatApp

/// --mqtt URL [--room NAME] [--board NAME]: this board's chat room shared with every
/// chat-server on the same broker and room.
/// - Local events (join, message, rename, leave) go to `meerkat/chat/<room>/events` as
///   JSON with "board", "run" (random per start) and "seq" (counting up), QoS 1.
/// - Events from other boards are checked field by field, rebuilt, tagged with their
///   "board" and broadcast to local users. Our own come back from the broker and are
///   dropped; a QoS 1 duplicate (same board and run, seq not newer) is dropped too.
/// - Counts: each board keeps its local number of users, retained, on
///   `meerkat/chat/<room>/count/<board>` (its will empties it), so every board knows the
///   others' and "count" in join and leave events is the fleet's: ours plus the last
///   figure each other board gave (at most `maxBoards` others are counted). A board
///   whose will emptied its figure counts 0 until it gives one again (mosquitto sends
///   the wills of everyone when it shuts down).
/// - Broker away: the room keeps working locally; our events wait in the reconnector's
///   outbox (`Reconnector.mqttPub`: `Limits.mqttOutbox` events, in order) and go out when
///   the broker is back. When it is full, a newer event stays local, and the bridge says
///   so ("fleet: outbox full"). The session is kept (clean session off, a fixed client
///   id), so the broker queues the other boards' events for us meanwhile.
final class FleetBridge {
    struct Peer {
        var board: String
        var run = ""
        var seq = 0
        var count = 0
    }

    static let maxBoards = 16

    let board: String
    let run: String
    private let eventsTopic: String, countPrefix: String
    private var reconnector: Reconnector? = nil
    private var seq = 0
    private var peers: [Peer] = []
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 1)
    /// Local users now (the app keeps it current).
    var localCount = 0

    init(_ manager: Manager, url: String, room: String, board: String?, deliver: @escaping (ByteView) -> Void) {
        self.board = board ?? MqttOpts.randomClientId()
        run = MqttOpts.randomClientId()
        eventsTopic = "meerkat/chat/" + room + "/events"
        countPrefix = "meerkat/chat/" + room + "/count/"
        let opts = MqttOpts(
            clientId: "chat-" + self.board, keepAlive: 30, cleanSession: false,
            will: MqttWill(topic: countPrefix + self.board, message: [], qos: 1, retain: true))
        reconnector = Reconnector(
            manager, mqtt: url, opts: opts, minDelayMs: 250, maxDelayMs: 5000,
            handler: { conn, ev in
                switch ev {
                case .mqttOpen(0):
                    _ = try? conn.mqttSub(self.eventsTopic, qos: 1)
                    _ = try? conn.mqttSub(self.countPrefix + "+", qos: 1)
                    self.publishCount()
                case let .mqttMessage(m):
                    if m.topic.string == self.eventsTopic {
                        if let event = self.remoteEvent(m.payload) { deliver(event) }
                    } else {
                        self.remoteCount(m.topic.string, m.payload)
                    }
                default:
                    break
                }
            },
            onState: { up in
                print(up ? "fleet: up" : "fleet: down")
                AppOptions.flushOutput()  // a pipe (a service's log) sees it now
            })
    }

    /// Users in the whole fleet, as far as this board knows.
    var fleetCount: Int { peers.reduce(localCount) { $0 + $1.count } }

    /// A local event for the other boards: `fill` writes its fields; the bridge adds
    /// board, run, seq and this board's user count.
    func publish(_ fill: (inout JsonWriter) -> Void) {
        var json = JsonWriter(into: scratch)
        fill(&json)
        seq += 1
        json.add("board", board)
        json.add("run", run)
        json.add("seq", seq)
        json.add("boardCount", localCount)
        guard let event = json.finish() else { return }
        do throws(MqttOutboxError) {
            try reconnector?.mqttPub(eventsTopic, event, qos: 1)  // now, or after the outbox's older ones
        } catch {
            print(error == .full ? "fleet: outbox full, an event stays local" : "fleet: \(error)")
            AppOptions.flushOutput()
        }
        publishCount()
    }

    private func publishCount() {
        guard let conn = reconnector?.connection, conn.isMqttOpen else { return }
        _ = try? conn.mqttPub(countPrefix + board, String(localCount), qos: 1, retain: true)
    }

    /// Another board's event, checked and rebuilt for local users; nil for our own, a
    /// duplicate, or anything malformed.
    private func remoteEvent(_ payload: ByteView) -> ByteView? {
        guard Json.isValid(payload), let from = Json.string(payload, "board"), from != board,
            let run = Json.string(payload, "run"), let seq = FleetBridge.integer(payload, "seq"),
            let type = Json.string(payload, "type")
        else { return nil }
        let i = peer(from)
        if peers[i].run != run {
            peers[i].run = run
            peers[i].seq = 0
        }
        guard seq > peers[i].seq else { return nil }  // seen already (QoS 1 may repeat)
        peers[i].seq = seq
        if let count = FleetBridge.integer(payload, "boardCount") { peers[i].count = max(count, 0) }
        var json = JsonWriter(into: scratch)
        json.add("type", type)
        switch type {
        case "join", "leave":
            guard let user = Json.string(payload, "username") else { return nil }
            json.add("username", user)
            json.add("count", fleetCount)
        case "message":
            guard let user = Json.string(payload, "username"), let text = Json.string(payload, "text"),
                let time = Json.number(payload, "timestamp")
            else { return nil }
            json.add("username", user)
            json.add("text", text)
            json.add("timestamp", time, fractionDigits: 3)
        case "rename":
            guard let old = Json.string(payload, "old"), let new = Json.string(payload, "new") else { return nil }
            json.add("old", old)
            json.add("new", new)
        default:
            return nil
        }
        json.add("board", from)
        return json.finish()
    }

    /// A whole number written as digits (nil for a fraction, an exponent, or one too
    /// large: parsed from the text, so no float conversion can trap).
    static func integer(_ doc: ByteView, _ key: StaticString) -> Int? {
        Json.value(doc, key).flatMap { Int($0.string) }
    }

    /// count/<board>: a number, or empty when that board's will cleared it.
    private func remoteCount(_ topic: String, _ payload: ByteView) {
        guard topic.hasPrefix(countPrefix) else { return }
        let from = String(topic.dropFirst(countPrefix.count))
        guard from != board else { return }
        // Emptied (that board's will): it counts 0, but its run and seq stay known, so a
        // repeat of its earlier events is still recognised.
        if payload.isEmpty {
            peers[peer(from)].count = 0
        } else if let n = Int(payload.string) {
            peers[peer(from)].count = max(n, 0)
        }
    }

    /// The entry for `board`, made when new (the oldest is dropped past `maxBoards`).
    private func peer(_ name: String) -> Int {
        if let i = peers.firstIndex(where: { $0.board == name }) { return i }
        if peers.count == FleetBridge.maxBoards { peers.removeFirst() }
        peers.append(Peer(board: name))
        return peers.count - 1
    }
}
