// libFuzzer target: the MQTT packet codec (`MqttParser`). Any input must give an answer
// without a crash; every view of a parsed packet must lie inside it; and a parsed
// PUBLISH, SUBSCRIBE or ack written again by MqttWriter must parse to the same fields
// (the writer and the parser agree).
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard case let .packet(p) = MqttParser.parse(input, maxPacket: 4096) else { return 0 }
    check(p.length >= 2 && p.length <= size && p.length <= 4096)
    let end = UnsafeRawPointer(data) + p.length
    for view in [p.topic, p.payload] where view.count > 0 {
        check(UnsafeRawPointer(view.base!) >= UnsafeRawPointer(data) && UnsafeRawPointer(view.base! + view.count) <= end)
    }
    var filters = 0
    p.forEachFilter { filter, qos in
        check(MqttTopic.isValidFilter(filter) && qos <= 2)
        filters += 1
    }
    check((p.type != .subscribe && p.type != .unsubscribe) || filters > 0)
    _ = p.connectFields
    let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 8192)
    defer { out.deallocate() }
    var w = ByteWriter(base: out, capacity: 8192)
    switch p.type {
    case .publish:
        MqttWriter.publish(
            &w, topic: p.topic.buffer, payload: p.payload.buffer, qos: p.qos, retain: p.retain,
            dup: p.dup, packetId: p.packetId)
    case .puback, .pubrec, .pubrel, .pubcomp, .unsuback:
        MqttWriter.ack(&w, p.type, packetId: p.packetId)
    case .subscribe where filters == 1:
        p.forEachFilter { f, q in MqttWriter.subscribe(&w, packetId: p.packetId, filter: f.buffer, qos: q) }
    default:
        return 0
    }
    guard case let .packet(q) = MqttParser.parse(w.written, maxPacket: 8192) else { fatalError("rewritten packet does not parse") }
    check(q.type == p.type && q.flags == p.flags && q.packetId == p.packetId)
    check(q.topic.equals(p.topic.buffer) && q.payload.equals(p.payload.buffer))
    return 0
}
