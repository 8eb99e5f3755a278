import CMeerkat

/// A message this side published with QoS 1 or 2 and the broker has not finished
/// acknowledging: its topic and payload stay in the session's byte store, in order, so
/// it can be sent again after a reconnect.
struct MqttOutgoing {
    enum Stage: UInt8 {
        case awaitingPuback  // QoS 1 PUBLISH sent
        case awaitingPubrec  // QoS 2 PUBLISH sent
        case awaitingPubcomp  // QoS 2 PUBREL sent
    }
    var packetId: UInt16 = 0
    var stage = Stage.awaitingPuback
    var retain = false
    var offset: Int32 = 0
    var topicLength: Int32 = 0
    var payloadLength: Int32 = 0
    var bytes: Int { Int(topicLength + payloadLength) }
}

/// One MQTT session: what a client connection knows beyond its client entry. It lives in
/// the manager's fixed table (`Limits.mqttSessions`) from `mqttConnect` until its
/// connection closes, or longer when the session is kept (clean session off): then the
/// next `mqttConnect` with the same client id takes it up, messages in flight included.
struct MqttSession {
    var inUse = false
    /// The connection it serves; -1 while kept between connections.
    var slot: Int32 = -1
    var opts = MqttOpts()
    /// CONNACK accepted.
    var isOpen = false
    var overWebSocket = false
    var lastPacketId: UInt16 = 0
    /// Keep-alive: when this side last sent, when the CONNECT or the PINGREQ waiting for
    /// its answer went (0: none waiting), and when the session was kept (for eviction).
    var lastSentMs: Int64 = 0
    var waitingSinceMs: Int64 = 0
    var keptSinceMs: Int64 = 0
    /// Outgoing messages in flight (`outgoing[0..<outgoingCount]`, oldest first) and the
    /// bytes they use in `store`; how many received QoS 2 ids await PUBREL (`releasing`).
    var outgoingCount = 0
    var storeUsed = 0
    var releasingCount = 0
    /// Bytes of a packet split across WebSocket messages, gathered in `split`.
    var splitCount = 0
    /// Per-session memory, carved from the table's allocations.
    var outgoing: UnsafeMutablePointer<MqttOutgoing>
    var store: UnsafeMutablePointer<UInt8>
    var releasing: UnsafeMutablePointer<UInt64>
    var split: UnsafeMutablePointer<UInt8>
}

struct MqttSessions {
    let capacity: Int
    let entries: UnsafeMutablePointer<MqttSession>
    /// How many entries serve a connection now: the loop's deadline and expiry walks
    /// skip the table when none does (every poll pays for them otherwise).
    var connected = 0
    private let outgoingMemory: UnsafeMutablePointer<MqttOutgoing>
    private let storeMemory: UnsafeMutablePointer<UInt8>
    private let releasingMemory: UnsafeMutablePointer<UInt64>
    private let splitMemory: UnsafeMutablePointer<UInt8>
    /// Where a packet is written before it goes out (one send block).
    let scratch: UnsafeMutablePointer<UInt8>
    let inFlight: Int
    let storeBytes: Int
    let splitBytes: Int

    /// Received QoS 2 messages awaiting PUBREL, by packet id: one bit for each of the
    /// 65,536 ids, 8 KiB per session.
    ///
    /// Why every id: MQTT 3.1.1 has no receive maximum, so a broker may leave as many QoS 2
    /// messages waiting for PUBREL as its own window allows (mosquitto's
    /// `max_inflight_messages`: 20 by default, any number when raised, no limit at 0),
    /// and the client must take them all. Only the 16-bit packet id bounds that number,
    /// so a set of every id is the one table no broker can overfill: nothing is refused,
    /// nothing is dropped, and each packet costs one bit test, not a search.
    ///
    /// A smaller table with back-pressure (stop reading at the PUBLISH that does not fit)
    /// would deadlock: a broker sends the PUBREL for an id only after our PUBREC, and may
    /// already have sent more PUBLISHes by then, so the PUBRELs that would make room come
    /// on the same stream behind the PUBLISH we stopped at. Reading past it to find them
    /// needs room for every byte in between, again as much as the broker's window.
    ///
    /// The bits are zeroed when a session takes the entry (`reset`), not at start, so a
    /// program that never connects to a broker does not touch the memory.
    static let releasingWords = 65_536 / 64

    init(limits: Limits) {
        capacity = limits.mqttSessions
        inFlight = limits.mqttInFlight
        storeBytes = limits.mqttInFlightBytes
        splitBytes = limits.mqttSplitPacketBytes
        let n = max(capacity, 1)
        outgoingMemory = .allocate(capacity: n * inFlight)
        outgoingMemory.initialize(repeating: MqttOutgoing(), count: n * inFlight)
        storeMemory = .allocate(capacity: n * storeBytes)
        releasingMemory = .allocate(capacity: n * MqttSessions.releasingWords)  // zeroed by `reset`
        splitMemory = .allocate(capacity: n * splitBytes)
        scratch = .allocate(capacity: capacity > 0 ? limits.sendBufferSize : 1)
        entries = .allocate(capacity: n)
        for i in 0..<n {
            (entries + i).initialize(
                to: MqttSession(
                    outgoing: outgoingMemory + i * inFlight,
                    store: storeMemory + i * storeBytes,
                    releasing: releasingMemory + i * MqttSessions.releasingWords,
                    split: splitMemory + i * splitBytes))
        }
    }

    /// A free entry, or the one kept longest without a connection; nil when every entry
    /// serves a connection. An entry kept for `clientId` is taken up as it is.
    mutating func take(clientId: String) -> Int? {
        if !clientId.isEmpty {
            for i in 0..<capacity where entries[i].inUse && entries[i].slot < 0 && entries[i].opts.clientId == clientId {
                return i
            }
        }
        var pick = -1
        for i in 0..<capacity {
            if !entries[i].inUse { pick = i; break }
            if entries[i].slot < 0 && (pick < 0 || entries[i].keptSinceMs < entries[pick].keptSinceMs) { pick = i }
        }
        guard pick >= 0 else { return nil }
        reset(pick)
        entries[pick].inUse = true
        return pick
    }

    /// Forgets everything the entry held (an ended clean session, or a kept one evicted).
    /// Every session starts here (`take`), so its received-id bits start cleared.
    mutating func reset(_ i: Int) {
        let e = entries[i]
        e.releasing.initialize(repeating: 0, count: MqttSessions.releasingWords)
        entries[i] = MqttSession(outgoing: e.outgoing, store: e.store, releasing: e.releasing, split: e.split)
    }

    func deallocate() {
        entries.deinitialize(count: max(capacity, 1))
        entries.deallocate()
        outgoingMemory.deallocate()
        storeMemory.deallocate()
        releasingMemory.deallocate()
        splitMemory.deallocate()
        scratch.deallocate()
    }
}

extension MqttSession {
    /// A packet identifier not used by a message in flight (never 0).
    mutating func nextPacketId() -> UInt16 {
        while true {
            lastPacketId = lastPacketId == UInt16.max ? 1 : lastPacketId + 1
            var used = false
            for k in 0..<outgoingCount where outgoing[k].packetId == lastPacketId { used = true }
            if !used { return lastPacketId }
        }
    }

    /// Room for one more message of `bytes` topic and payload bytes in flight.
    func canHold(_ bytes: Int, inFlight: Int, storeBytes: Int) -> Bool {
        outgoingCount < inFlight && storeUsed + bytes <= storeBytes
    }

    /// Keeps a message sent with QoS 1 or 2 (the caller checked `canHold`).
    mutating func hold(
        _ packetId: UInt16, qos: UInt8, retain: Bool, topic: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer
    ) {
        let m = MqttOutgoing(
            packetId: packetId, stage: qos == 1 ? .awaitingPuback : .awaitingPubrec, retain: retain,
            offset: Int32(storeUsed), topicLength: Int32(topic.count), payloadLength: Int32(payload.count))
        if topic.count > 0 { (store + storeUsed).update(from: topic.baseAddress!.assumingMemoryBound(to: UInt8.self), count: topic.count) }
        if payload.count > 0 {
            (store + storeUsed + topic.count).update(from: payload.baseAddress!.assumingMemoryBound(to: UInt8.self), count: payload.count)
        }
        storeUsed += m.bytes
        outgoing[outgoingCount] = m
        outgoingCount += 1
    }

    func find(_ packetId: UInt16, _ stage: MqttOutgoing.Stage) -> Int? {
        for k in 0..<outgoingCount where outgoing[k].packetId == packetId && outgoing[k].stage == stage { return k }
        return nil
    }

    /// Drops entry `k`; the later entries and their bytes move down (a few KiB at most).
    mutating func remove(_ k: Int) {
        let gone = outgoing[k]
        let after = Int(gone.offset) + gone.bytes
        if storeUsed > after { (store + Int(gone.offset)).update(from: store + after, count: storeUsed - after) }
        storeUsed -= gone.bytes
        for j in k..<(outgoingCount - 1) {
            outgoing[j] = outgoing[j + 1]
            if outgoing[j].offset > gone.offset { outgoing[j].offset -= Int32(gone.bytes) }
        }
        outgoingCount -= 1
    }

    func topic(of m: MqttOutgoing) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: store + Int(m.offset), count: Int(m.topicLength))
    }

    func payload(of m: MqttOutgoing) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: store + Int(m.offset + m.topicLength), count: Int(m.payloadLength))
    }

    /// Received QoS 2 ids that wait for PUBREL (`MqttSessions.releasingWords`): a DUP
    /// of one is not delivered again. Any id fits, so taking one never fails.
    func isReleasing(_ id: UInt16) -> Bool {
        releasing[Int(id >> 6)] & (1 << UInt64(id & 63)) != 0
    }

    mutating func startReleasing(_ id: UInt16) {
        guard !isReleasing(id) else { return }
        releasing[Int(id >> 6)] |= 1 << UInt64(id & 63)
        releasingCount += 1
    }

    mutating func released(_ id: UInt16) {
        guard isReleasing(id) else { return }
        releasing[Int(id >> 6)] &= ~(1 << UInt64(id & 63))
        releasingCount -= 1
    }

    /// The broker kept no session (§3.2.2.2), so no PUBREL will come for what waited.
    mutating func forgetReleasing() {
        if releasingCount > 0 { releasing.update(repeating: 0, count: MqttSessions.releasingWords) }
        releasingCount = 0
    }
}
