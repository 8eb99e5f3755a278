/// MQTT topic names and filters (MQTT 3.1.1 §4.7): validation and matching, as pure
/// functions over bytes.
public enum MqttTopic {
    static let slash = UInt8(ascii: "/"), plus = UInt8(ascii: "+"), hash = UInt8(ascii: "#")
    static let dollar = UInt8(ascii: "$")

    /// An MQTT UTF-8 string (§1.5.3): well-formed UTF-8 without U+0000.
    static func isValidString(_ s: ByteView) -> Bool {
        guard s.count > 0 else { return true }
        if s.firstIndex(of: 0) != nil { return false }
        var v = Utf8Validator()
        return v.feed(s.base!, s.count) && v.isComplete
    }

    /// A topic name a PUBLISH may carry: a non-empty string without wildcards.
    public static func isValidName(_ topic: ByteView) -> Bool {
        topic.count > 0 && isValidString(topic) && topic.firstIndex(of: plus) == nil && topic.firstIndex(of: hash) == nil
    }

    /// A subscription filter: a non-empty string where `+` fills a whole level and `#` is
    /// a whole level and the last one.
    public static func isValidFilter(_ filter: ByteView) -> Bool {
        guard filter.count > 0, isValidString(filter) else { return false }
        for i in 0..<filter.count {
            let c = filter[i]
            guard c == plus || c == hash else { continue }
            let wholeLevel = (i == 0 || filter[i - 1] == slash) && (i + 1 == filter.count || filter[i + 1] == slash)
            guard wholeLevel, c == plus || i + 1 == filter.count else { return false }
        }
        return true
    }

    /// Whether `topic` (a valid name) matches `filter` (a valid filter): `+` takes one
    /// level, `#` the level it stands for and all below (so `a/#` matches `a`), and a
    /// topic starting with `$` is matched by no filter starting with a wildcard (§4.7.2).
    public static func matches(filter: ByteView, topic: ByteView) -> Bool {
        if topic.count > 0 && topic[0] == dollar && filter.count > 0 && (filter[0] == plus || filter[0] == hash) {
            return false
        }
        var f = 0, t = 0
        while f < filter.count {
            let c = filter[f]
            if c == hash { return true }
            if c == plus {
                while t < topic.count && topic[t] != slash { t += 1 }
                f += 1
            } else {
                guard t < topic.count, topic[t] == c else {
                    // "a/#" also matches "a": the topic ended where "/#" begins.
                    return t == topic.count && c == slash && f + 2 == filter.count && filter[f + 1] == hash
                }
                f += 1
                t += 1
            }
        }
        return t == topic.count
    }

    public static func matches(filter: StaticString, topic: ByteView) -> Bool {
        matches(filter: ByteView(filter.rawBuffer), topic: topic)
    }
}
