import Testing

@testable import Meerkat

/// The MQTT outbox: the fixed store on its own, then `Reconnector.mqttPub` with the
/// broker away and back (Debian's mosquitto).
@Suite(.serialized) struct MqttOutboxTests {
    func keep(_ box: MqttOutbox, _ topic: String, _ payload: String, qos: UInt8 = 1) -> Bool {
        Array(topic.utf8).withUnsafeBytes { t in
            Array(payload.utf8).withUnsafeBytes { box.append(topic: t, payload: $0, qos: qos, retain: false) }
        }
    }

    func takeFirst(_ box: MqttOutbox) -> String? {
        guard let m = box.first else { return nil }
        defer { box.removeFirst() }
        return ByteView(m.topic).string + " " + ByteView(m.payload).string
    }

    @Test func theStoreKeepsOrderWithinItsMessagesAndBytes() {
        let box = MqttOutbox(capacity: 4, storeBytes: 40)
        #expect(keep(box, "a", "1") && keep(box, "b", "22") && keep(box, "c", "333") && keep(box, "d", "4444"))
        #expect(!keep(box, "e", "5"))  // four messages: full
        #expect(takeFirst(box) == "a 1" && box.count == 3 && box.usedBytes == 12)
        #expect(!keep(box, "e", String(repeating: "5", count: 29)))  // 30 bytes: more than the 28 left
        #expect(keep(box, "e", String(repeating: "5", count: 27)))  // at the end of the store, moved to the front first
        #expect(takeFirst(box) == "b 22" && takeFirst(box) == "c 333" && takeFirst(box) == "d 4444")
        #expect(takeFirst(box) == "e " + String(repeating: "5", count: 27))
        #expect(takeFirst(box) == nil && box.usedBytes == 0)
        #expect(!keep(MqttOutbox(capacity: 0, storeBytes: 40), "a", "1"))
    }

    /// Against a plain queue, over many rounds of mixed sizes that wrap the store.
    @Test func theStoreMatchesAQueueOverManyRounds() {
        let box = MqttOutbox(capacity: 8, storeBytes: 100)
        var model: [String] = []
        var seed: UInt32 = 7
        for round in 0..<5000 {
            seed = seed &* 1_103_515_245 &+ 12345
            if seed >> 16 % 3 != 0 {
                let payload = String(repeating: "x", count: Int(seed >> 20 % 30)) + "\(round)"
                let fits = model.count < 8 && model.reduce(0) { $0 + $1.utf8.count - 1 } + 1 + payload.utf8.count <= 100
                #expect(keep(box, "t", payload) == fits)
                if fits { model.append("t " + payload) }
            } else {
                #expect(takeFirst(box) == model.first)
                if !model.isEmpty { model.removeFirst() }
            }
        }
    }

    @Test func whileNoBrokerAnswersPublishesWaitUntilTheOutboxIsFull() throws {
        var limits = Limits()
        limits.mqttOutbox = 5
        let manager = Manager(limits: limits)
        defer { manager.close() }
        let keeper = Reconnector(
            manager, mqtt: "mqtt://127.0.0.1:\(Mosquitto.freePort())", opts: MqttOpts(), handler: { _, _ in },
            onState: { _ in })
        defer { keeper.stop() }
        manager.pump(ms: 50)
        for i in 0..<5 { #expect(try keeper.mqttPub("o/t", "\(i)", qos: 1) == false) }  // kept, not sent
        #expect(keeper.outboxCount == 5)
        #expect(throws: MqttOutboxError.full) { try keeper.mqttPub("o/t", "one too many", qos: 1) }
        #expect(throws: MqttOutboxError.refused(.invalidTopic)) { try keeper.mqttPub("o/+", "x") }
        #expect(throws: MqttOutboxError.refused(.invalidState)) { try keeper.mqttPub("o/t", "x", qos: 3) }
        let huge = [UInt8](repeating: 120, count: limits.mqttOutboxBytes)
        #expect(throws: MqttOutboxError.refused(.messageTooLarge)) { try keeper.mqttPub("o/t", huge) }
        #expect("\(MqttOutboxError.full)" == "MQTT: the outbox is full")
        #expect(keeper.outboxCount == 5)
    }

    /// With no outbox (`mqttOutbox` 0) a publish goes at once or fails: nothing waits.
    @Test func withoutAnOutboxAPublishGoesAtOnceOrFails() throws {
        var limits = Limits()
        limits.mqttOutbox = 0
        let broker = try Mosquitto()
        let manager = Manager(limits: limits)
        defer { manager.close() }
        for (port, up) in [(broker.port, true), (Mosquitto.freePort(), false)] {
            let keeper = Reconnector(
                manager, mqtt: "mqtt://127.0.0.1:\(port)", opts: MqttOpts(), handler: { _, _ in }, onState: { _ in })
            defer { keeper.stop() }
            manager.pump(limitMs: 1000) { keeper.isUp }
            #expect(keeper.isUp == up)
            if up {
                #expect(try keeper.mqttPub("o/t", "now", qos: 1) == true)
            } else {
                #expect(throws: MqttOutboxError.full) { try keeper.mqttPub("o/t", "later", qos: 1) }
            }
        }
    }

    /// The broker away at first, then there: what was published meanwhile arrives, in
    /// order, once each, and what is published after goes behind it.
    @Test func whatWaitedGoesOutInOrderOnceTheBrokerIsThere() throws {
        let port = Mosquitto.freePort()
        let manager = Manager()
        defer { manager.close() }
        let keeper = Reconnector(
            manager, mqtt: "mqtt://127.0.0.1:\(port)", opts: MqttOpts(), minDelayMs: 100, maxDelayMs: 200,
            handler: { _, _ in }, onState: { _ in })
        defer { keeper.stop() }
        manager.pump(ms: 50)
        for i in 0..<32 { try keeper.mqttPub("o/n", "\(i)", qos: i % 3 == 0 ? 0 : 1) }
        #expect(keeper.outboxCount == 32)  // the default outbox: 32 messages
        #expect(throws: MqttOutboxError.full) { try keeper.mqttPub("o/n", "32") }

        let broker = try Mosquitto(port: port)
        // A subscriber on a manager of its own, subscribed before the keeper's next try.
        let other = Manager()
        defer { other.close() }
        let log = MqttLog()
        let sub = try other.mqttConnect("mqtt://127.0.0.1:\(broker.port)", handler: log.handler())
        #expect(other.pump { sub.isMqttOpen })
        try sub.mqttSub("o/#", qos: 1)
        #expect(other.pump { log.saw(.suback) })
        var waited = 0
        while (keeper.outboxCount > 0 || log.messages.count < 32) && waited < 5000 {
            manager.poll(5)
            other.poll(5)
            waited += 10
        }
        #expect(keeper.isUp && keeper.outboxCount == 0)
        try keeper.mqttPub("o/n", "after", qos: 1)  // up and nothing waits: sent at once
        #expect(
            other.pump {
                manager.poll(1); return log.messages.count == 33
            })
        #expect(log.messages.map { $0.payload } == (0..<32).map { "\($0)" } + ["after"])
    }
}
