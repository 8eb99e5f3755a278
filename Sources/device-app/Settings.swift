import Meerkat

/// The settings a person changes from the dashboard: the device's name and how often it
/// reports (--report). Kept in `<dir>/settings.conf` as `name=…` and `interval=…` lines,
/// written to a temporary file, synced and renamed over the old one, so a power cut
/// leaves the old settings or the new, never half of each.
struct Settings {
    var name = "board"
    var intervalS = 5

    static func path(_ dir: String) -> String { dir + "/settings.conf" }

    /// The saved settings, or the defaults when there are none (or they do not parse).
    static func load(_ dir: String) -> Settings {
        var s = Settings()
        guard let bytes = try? File.contents(path(dir), limit: 4096) else { return s }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq], value = String(line[line.index(after: eq)...])
            if key == "name", let name = valid(name: value) { s.name = name }
            if key == "interval", let n = Int(value), (1...3600).contains(n) { s.intervalS = n }
        }
        return s
    }

    /// A name a person can read back: 1…40 bytes, no control characters.
    static func valid(name: String) -> String? {
        let bytes = name.utf8
        guard (1...40).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { return nil }
        return name
    }

    /// Written whole to a temporary of its own, synced, renamed over the old file, and the
    /// folder synced: after a kill -9 or a power cut the file holds the old settings or
    /// the new ones, never a torn mix, and true (the 200) means the new ones will be
    /// read at the next start. A temporary left by a kill is removed at start.
    func save(_ dir: String) -> Bool {
        let final = Settings.path(dir)
        guard let (file, temporary) = try? File.createTemporary(for: final) else { return false }
        let written = (try? file.write("name=" + name + "\ninterval=" + String(intervalS) + "\n")) != nil
        let synced = written && (try? file.sync()) != nil
        file.close()
        guard synced, (try? File.replace(final, with: temporary)) != nil else {
            try? File.remove(temporary)
            return false
        }
        return true
    }

    var json: [UInt8] {
        jsonObject { o in
            o.add("name", name)
            o.add("interval", intervalS)
        }
    }
}

/// One JSON object and a newline, written by the library's JsonWriter (which escapes
/// what needs escaping); 1 KiB is far more than any answer of this app.
func jsonObject(_ fields: (inout JsonWriter) -> Void) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: 1024)
    let length = buffer.withUnsafeMutableBytes { bytes -> Int in
        var writer = JsonWriter(into: bytes)
        fields(&writer)
        return writer.finish()?.count ?? 0
    }
    return Array(buffer[0..<length]) + [10]
}

/// A JSON answer's headers, made once: as a literal in the event handler they were an
/// array allocated on every request.
let jsonHeaders: KeyValuePairs<String, String> = ["Content-Type": "application/json"]

/// Where `jsonAnswer` writes: one answer at a time (the loop is single-threaded and a
/// reply copies its body out before it returns).
private let answerBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 1)

/// `jsonObject`'s text, newline and all, written in place for a reply: an answer on
/// the hot path (a refusal to a client without a session, /api/status) must not
/// allocate, and `jsonObject` makes arrays. Valid until the next call.
func jsonAnswer(_ fields: (inout JsonWriter) -> Void) -> ByteView {
    var writer = JsonWriter(into: UnsafeMutableRawBufferPointer(rebasing: answerBuffer[0..<answerBuffer.count - 1]))
    fields(&writer)
    let length = writer.finish()?.count ?? 0
    answerBuffer[length] = 10
    return ByteView(UnsafeRawBufferPointer(rebasing: answerBuffer[0...length]))
}
