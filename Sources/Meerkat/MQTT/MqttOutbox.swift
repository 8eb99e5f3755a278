import CMeerkat

/// Publishes waiting to go out, oldest first, in memory allocated once: at most
/// `capacity` messages whose topics and payloads take at most `storeBytes` bytes
/// (`Limits.mqttOutbox`, `Limits.mqttOutboxBytes`). Pure bookkeeping: bytes in, the
/// oldest message's bytes out; `Reconnector` decides when they go (Reconnector+Outbox).
///
/// The messages' bytes lie one after another in `store`, from `start` to `end`; taking
/// the oldest moves `start` on, and a message that does not fit after `end` moves the
/// waiting bytes to the front first (at most `storeBytes`, only when the end is reached),
/// so each message's topic and payload stay contiguous for the writer.
final class MqttOutbox {
    struct Entry {
        var topicLength: Int32
        var payloadLength: Int32
        var qos: UInt8
        var retain: Bool
        var bytes: Int { Int(topicLength + payloadLength) }
    }

    let capacity: Int
    let storeBytes: Int
    private let entries: UnsafeMutablePointer<Entry>
    private let store: UnsafeMutablePointer<UInt8>
    /// The oldest entry (a ring of `capacity`), and how many wait.
    private var head = 0
    private(set) var count = 0
    private var start = 0
    private var end = 0

    init(capacity: Int, storeBytes: Int) {
        self.capacity = capacity
        self.storeBytes = storeBytes
        entries = .allocate(capacity: max(capacity, 1))
        store = .allocate(capacity: max(storeBytes, 1))
    }

    deinit {
        entries.deallocate()
        store.deallocate()
    }

    /// Bytes of topics and payloads waiting.
    var usedBytes: Int { end - start }

    /// Keeps a message behind the others; false when there is no room for it now.
    func append(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8, retain: Bool) -> Bool {
        let n = topic.count + payload.count
        guard count < capacity, usedBytes + n <= storeBytes else { return false }
        if end + n > storeBytes {
            if usedBytes > 0 { memmove(store, store + start, usedBytes) }  // may overlap
            end -= start
            start = 0
        }
        if topic.count > 0 { (store + end).update(from: topic.baseAddress!.assumingMemoryBound(to: UInt8.self), count: topic.count) }
        if payload.count > 0 {
            (store + end + topic.count).update(from: payload.baseAddress!.assumingMemoryBound(to: UInt8.self), count: payload.count)
        }
        entries[(head + count) % capacity] = Entry(
            topicLength: Int32(topic.count), payloadLength: Int32(payload.count), qos: qos, retain: retain)
        count += 1
        end += n
        return true
    }

    /// The oldest message, valid until the next `append` or `removeFirst`.
    var first: (topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8, retain: Bool)? {
        guard count > 0 else { return nil }
        let e = entries[head]
        let topic = UnsafeRawBufferPointer(start: store + start, count: Int(e.topicLength))
        let payload = UnsafeRawBufferPointer(start: store + start + Int(e.topicLength), count: Int(e.payloadLength))
        return (topic, payload, e.qos, e.retain)
    }

    func removeFirst() {
        guard count > 0 else { return }
        start += entries[head].bytes
        head = (head + 1) % capacity
        count -= 1
        if count == 0 {
            start = 0
            end = 0
        }
    }
}
