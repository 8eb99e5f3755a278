// Test vectors for the pure codecs, with their expected answers as short text. The
// SwiftPM tests (CodecVectorTests) and the Embedded runner (Tests/codec-runner, built
// for every board and run under qemu) read this one table, so x86_64, aarch64 and
// armv7hf must all give these answers. Compiled into the library's module for the
// runner, hence the conditional import.
#if !MEERKAT_CODEC_RUNNER
@testable import Meerkat
#endif

struct CodecVector {
    enum Codec {
        case head, target, chunked, streamed, wsFrame, utf8, response, responseToHead, dnsA, dnsACut, staticPath, range, httpDate, multipart, mqtt, jsonNumber,
            wholeHead, wholeFrame, wholeRecord, sntp, jsonPath
    }
    let codec: Codec
    let name: StaticString
    let input: StaticString
    let expected: StaticString
}

extension CodecVector {
    /// The input's bytes: the text itself, or for binary codecs (WebSocket frames,
    /// UTF-8, DNS, MQTT) hex pairs separated by spaces (a StaticString can only hold UTF-8).
    var bytes: [UInt8] {
        let text = UnsafeBufferPointer(start: input.utf8Start, count: input.utf8CodeUnitCount)
        guard
            codec == .wsFrame || codec == .utf8 || codec == .dnsA || codec == .dnsACut || codec == .mqtt
                || codec == .wholeFrame || codec == .wholeRecord || codec == .sntp
        else { return Array(text) }
        var out: [UInt8] = []
        var value: UInt8 = 0, digits = 0
        for c in text {
            guard let d = ASCII.hexValue(c) else { continue }
            value = value << 4 | d
            digits += 1
            if digits == 2 { out.append(value); value = 0; digits = 0 }
        }
        return out
    }
}

enum CodecVectors {
    /// The body limit the chunked vectors decode against (a board's receive block).
    static let chunkedLimit = 16_384

    /// Runs every vector; `report` hears each one that gives another answer.
    static func run(_ report: (CodecVector, String) -> Void) -> (passed: Int, failed: Int) {
        var passed = 0, failed = 0
        for v in all {
            let bytes = v.bytes
            let got = bytes.withUnsafeBufferPointer { answer(v.codec, $0.baseAddress ?? v.input.utf8Start, $0.count) }
            if equals(got, v.expected) { passed += 1 } else { failed += 1; report(v, got) }
        }
        return (passed, failed)
    }

    /// The codec's answer for `bytes`, as text: `incomplete`, `fail NNN`, or `ok …` with
    /// what a caller would use (body framing for a head, decoded body for chunked).
    static func answer(_ codec: CodecVector.Codec, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> String {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 1)
        defer { copy.deallocate() }
        copy.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: count))
        let buf = UnsafeMutableRawBufferPointer(rebasing: copy[0..<count])
        switch codec {
        case .head: return headAnswer(UnsafeRawBufferPointer(buf))
        case .target: return targetAnswer(UnsafeRawBufferPointer(buf))
        case .response: return responseAnswer(UnsafeRawBufferPointer(buf), toHead: false)
        case .responseToHead: return responseAnswer(UnsafeRawBufferPointer(buf), toHead: true)
        case .dnsA: return dnsAnswer(UnsafeRawBufferPointer(buf))
        case .dnsACut: return dnsAnswer(UnsafeRawBufferPointer(buf), cut: true)
        case .staticPath: return staticPathAnswer(UnsafeRawBufferPointer(buf))
        case .range: return rangeAnswer(UnsafeRawBufferPointer(buf))
        case .httpDate: return httpDateAnswer(UnsafeRawBufferPointer(buf))
        case .multipart: return multipartAnswer(UnsafeRawBufferPointer(buf))
        case .mqtt: return mqttAnswer(UnsafeRawBufferPointer(buf))
        case .jsonNumber: return jsonNumberAnswer(UnsafeRawBufferPointer(buf))
        case .wholeHead: return HttpParser.holdsWholeHead(UnsafeRawBufferPointer(buf)) ? "whole" : "part"
        case .wholeFrame: return WsFrame.holdsWholeFrame(UnsafeRawBufferPointer(buf)) ? "whole" : "part"
        case .wholeRecord: return TlsState.holdsWholeRecord(UnsafeRawBufferPointer(buf)) ? "whole" : "part"
        case .sntp: return sntpAnswer(UnsafeRawBufferPointer(buf))
        case .jsonPath: return jsonPathAnswer(UnsafeRawBufferPointer(buf))
        case .chunked: return chunkedAnswer(buf, maxBody: chunkedLimit)
        case .streamed: return streamedAnswer(buf)
        case .wsFrame: return wsFrameAnswer(buf)
        case .utf8:
            var v = Utf8Validator()
            let ok = v.feed(UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: UInt8.self)), buf.count)
            return ok ? (v.isComplete ? "ok complete" : "ok partial") : "fail"
        }
    }

    /// `fieldSum` adds a checksum of the header offsets (for the differential fuzzer,
    /// where nobody reads the answers but every board must give the same ones).
    static func headAnswer(_ buf: UnsafeRawBufferPointer, fieldSum: Bool = false) -> String {
        let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
        defer { fields.deallocate() }
        fields.initialize(repeating: HeaderField())
        switch HttpParser.parseHead(buf, fields: fields, maxURILength: 256) {
        case .incomplete: return "incomplete"
        case let .failed(status): return "fail \(status)"
        case let .complete(h):
            var body: String
            switch h.body {
            case .none: body = "none"
            case .chunked: body = "chunked"
            case let .length(n): body = "length:\(n)"
            }
            let text = "ok \(body) head:\(h.length) keep:\(h.keepAlive ? 1 : 0)" + (h.expectContinue ? " expect" : "")
            guard fieldSum else { return text }
            var sum: UInt32 = 0
            for f in fields[0..<h.headerCount] {
                sum = sum &* 31 &+ UInt32(bitPattern: f.nameStart &+ f.nameLength &* 7 &+ f.valueStart &* 13 &+ f.valueLength)
            }
            return text + " fields:\(h.headerCount)/\(sum) target:\(h.pathStart)/\(h.pathEnd)/\(h.queryStart)/\(h.targetEnd)"
                + " authority:\(h.authorityStart)/\(h.authorityEnd)"
        }
    }

    /// What a handler sees of a request's target: `hm.uri`, `hm.query` and `hm.host`.
    static func targetAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
        defer { fields.deallocate() }
        fields.initialize(repeating: HeaderField())
        switch HttpParser.parseHead(buf, fields: fields, maxURILength: 256) {
        case .incomplete: return "incomplete"
        case let .failed(status): return "fail \(status)"
        case let .complete(h):
            let hm = HttpMessage(
                base: buf.baseAddress!.assumingMemoryBound(to: UInt8.self), head: h,
                fields: UnsafeBufferPointer(fields), body: .empty)
            return "uri:" + printable(hm.uri.buffer) + " query:" + printable(hm.query.buffer)
                + " host:" + (hm.host.map { printable($0.buffer) } ?? "none")
        }
    }

    /// A response head (the client side): status, body framing, head length, keep-alive.
    static func responseAnswer(_ buf: UnsafeRawBufferPointer, toHead: Bool) -> String {
        let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
        defer { fields.deallocate() }
        fields.initialize(repeating: HeaderField())
        switch HttpResponseParser.parseHead(buf, fields: fields, requestWasHead: toHead) {
        case .incomplete: return "incomplete"
        case .failed: return "fail"
        case let .complete(r):
            var body: String
            switch r.body {
            case .none: body = "none"
            case .chunked: body = "chunked"
            case .untilClose: body = "close"
            case let .length(n): body = "length:\(n)"
            }
            return "ok \(r.status) \(body) head:\(r.head.length) keep:\(r.head.keepAlive ? 1 : 0) fields:\(r.head.headerCount)"
        }
    }

    /// An answer to an A query for example.com with ID 0x1234: the summary, and the first
    /// address in hex.
    /// `ok <path> dir|file`, or why the path is refused.
    static func staticPathAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { out.deallocate() }
        switch StaticPath.resolve(ByteView(buf), into: out) {
        case let .ok(count, directory):
            return "ok " + printable(UnsafeRawBufferPointer(rebasing: out[0..<count])) + (directory ? " dir" : " file")
        case .bad: return "bad"
        case .forbidden: return "forbidden"
        case .tooLong: return "too long"
        }
    }

    /// Input "SIZE|Range value": `full`, `partial START LENGTH` or `unsatisfiable`.
    static func rangeAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        let all = ByteView(buf)
        guard let bar = all.firstIndex(of: UInt8(ascii: "|")),
            case let .value(size) = WireNumber.decimal(all.slice(0, bar))
        else { return "bad vector" }
        switch FileConditions.parseRange(all.slice(bar + 1, all.count), size: size) {
        case .full: return "full"
        case .notModified: return "not modified"
        case let .partial(start, length): return "partial \(start) \(length)"
        case .unsatisfiable: return "unsatisfiable"
        }
    }

    /// An IMF-fixdate: its seconds and the date written back, or `invalid`.
    static func httpDateAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        guard let seconds = HttpDate.parse(ByteView(buf)) else { return "invalid" }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 40)
        defer { out.deallocate() }
        var w = ByteWriter(base: out, capacity: 40)
        HttpDate.write(seconds, &w)
        return "\(seconds) " + String(decoding: w.written, as: UTF8.self)
    }

    /// A multipart/form-data body with boundary "b", fed in 7-byte pieces: each part as
    /// [name|filename]{bytes}, then `ok` or `fail` and the reason.
    static func multipartAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        let type: StaticString = "multipart/form-data; boundary=b"
        return multipartAnswer(ByteView(buf), contentType: ByteView(type.rawBuffer)) { at in at + 7 }
    }

    /// As above for any Content-Type, the body fed in pieces that end where `pieceEnd`
    /// (given where one starts) says.
    static func multipartAnswer(_ all: ByteView, contentType: ByteView, pieceEnd: (Int) -> Int) -> String {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 1)
        defer { scratch.deallocate() }
        guard var reader = MultipartReader(contentType: contentType, scratch: scratch) else { return "no reader" }
        var out = ""
        var at = 0
        var ok = true
        while at < all.count && ok {
            let end = min(all.count, max(at + 1, pieceEnd(at)))
            ok = reader.feed(all.slice(at, end)) { ev in
                switch ev {
                case let .part(name, filename, _): out += "[" + printable(name.buffer) + "|" + printable(filename.buffer) + "]{"
                case let .data(v): out += printable(v.buffer)
                case .partEnd: out += "}"
                }
            }
            at = end
        }
        if ok { ok = reader.finish() }
        guard !ok else { return out + " ok" }
        switch reader.failure {
        case .badBoundary?: return out + " fail boundary"
        case .headerTooLarge?: return out + " fail header too large"
        case .badHeader?: return out + " fail header"
        case .missingTerminator?: return out + " fail no terminator"
        case nil: return out + " fail"
        }
    }

    /// `cut`: the datagram was longer than the resolver's buffer, and this is its start.
    static func dnsAnswer(_ buf: UnsafeRawBufferPointer, cut: Bool = false) -> String {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { out.deallocate() }
        let name: StaticString = "example.com"
        let answer = DnsMessage.parseAnswer(
            buf, id: 0x1234, name: ByteView(name.rawBuffer), type: DnsMessage.typeA,
            addresses: out, cut: cut)
        guard case .addresses = answer else { return answer.summary }
        let digits: StaticString = "0123456789abcdef"
        var hex = ""
        for i in 0..<4 {
            hex.append(Character(Unicode.Scalar(digits.utf8Start[Int(out[i] >> 4)])))
            hex.append(Character(Unicode.Scalar(digits.utf8Start[Int(out[i] & 15)])))
        }
        return answer.summary + " " + hex
    }

    /// What `JsonWriter` writes for a Double: the input is `DIGITS VALUE` (DIGITS the
    /// fraction digits, or `plain` for `add(_:_:)`); VALUE is `nan`, `inf`, `-inf` or a
    /// JSON number (read with `Json.number`). The answer is the field's value as written.
    /// Input: an 8-byte cookie, a 2-byte round trip in ms, then the server's packet.
    static func sntpAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        guard buf.count >= 10 else { return "short input" }
        var cookie: UInt64 = 0
        for k in 0..<8 { cookie = cookie << 8 | UInt64(buf[k]) }
        let roundTrip = Int64(buf[8]) << 8 | Int64(buf[9])
        switch SntpPacket.parse(UnsafeRawBufferPointer(rebasing: buf[10...]), cookie: cookie, roundTripMs: roundTrip) {
        case .time(let ms): return "time \(ms)"
        case .kissOfDeath: return "kiss-o'-death"
        case .invalid: return "invalid"
        }
    }

    static func jsonNumberAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        let text = Array(buf)
        guard let space = text.firstIndex(of: UInt8(ascii: " ")) else { return "bad vector" }
        let number = Array(text[(space + 1)...])
        var value: Double
        switch String(decoding: number, as: UTF8.self) {
        case "nan": value = .nan
        case "inf": value = .infinity
        case "-inf": value = -.infinity
        default:
            let doc = Array("{\"v\": ".utf8) + number + [UInt8(ascii: "}")]
            guard let v = doc.withUnsafeBytes({ Json.number(ByteView($0), "v") }) else { return "bad vector" }
            value = v
        }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { out.deallocate() }
        var w = JsonWriter(into: out)
        let digits = text[..<space]
        if String(decoding: digits, as: UTF8.self) == "plain" {
            w.add("v", value)
        } else {
            var n = 0
            for d in digits where ASCII.isDigit(d) { n = n * 10 + Int(d - 48) }
            w.add("v", value, fractionDigits: digits.first == UInt8(ascii: "-") ? -n : n)
        }
        guard let json = w.finish(), json.count > 7 else { return "overflowed" }
        return printable(UnsafeRawBufferPointer(rebasing: json.buffer[6..<(json.count - 1)]))
    }

    /// What `Json.find` and the typed getters answer: the input is `PATH DOCUMENT` (split
    /// at the first space). The answer is `nil`, or the kind, the raw value and its
    /// offset, then per kind the string unescaped, the integer and the number (as
    /// `JsonWriter` writes it), or the count of an array or object.
    static func jsonPathAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        let whole = ByteView(buf)
        let space = whole.firstIndex(of: UInt8(ascii: " ")) ?? whole.count
        let path = whole.slice(0, space), doc = whole.slice(space + 1, whole.count)
        guard let t = Json.find(doc, path: path) else { return "nil" }
        var text = "\(t.kind) \(printable(t.raw.buffer)) @\(t.offset)"
        switch t.kind {
        case .string:
            let s = Json.string(doc, path: path) ?? "?"
            text += " =" + Array(s.utf8).withUnsafeBytes { printable($0) }
        case .number:
            text += " int:" + (Json.integer(doc, path: path).map { "\($0)" } ?? "nil")
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
            defer { out.deallocate() }
            var w = JsonWriter(into: out)
            w.add("v", Json.number(doc, path: path) ?? .nan)
            if let json = w.finish(), json.count > 7 { text += " num:" + printable(UnsafeRawBufferPointer(rebasing: json.buffer[6..<(json.count - 1)])) }
        case .bool: text += Json.bool(doc, path: path) == true ? " =true" : " =false"
        case .array, .object: text += " count:\(Json.count(doc, path: path) ?? -1)"
        case .null: break
        }
        return text
    }

    /// The packet at the start (a 4 KiB receiver): its type and fields, or why not.
    static func mqttAnswer(_ buf: UnsafeRawBufferPointer) -> String {
        switch MqttParser.parse(buf, maxPacket: 4096) {
        case .incomplete: return "incomplete"
        case let .malformed(why): return "fail \(why.text)"
        case let .packet(p):
            var text = "ok type:\(p.type.rawValue) len:\(p.length) id:\(p.packetId)"
            switch p.type {
            case .publish:
                text += " qos:\(p.qos) r:\(p.retain ? 1 : 0) d:\(p.dup ? 1 : 0) topic:\(printable(p.topic.buffer)) data:\(printable(p.payload.buffer))"
            case .connack: text += " sp:\(p.sessionPresent ? 1 : 0) rc:\(p.returnCode)"
            case .connect: text += " flags:\(p.connectFlags) ka:\(p.keepAlive) cid:\(printable(p.connectFields.clientId.buffer))"
            case .subscribe, .unsubscribe:
                p.forEachFilter { f, q in text += " \(printable(f.buffer))@\(q)" }
            case .suback: text += " codes:\(printable(p.payload.buffer))"
            default: break
            }
            return text
        }
    }

    static func chunkedAnswer(_ buf: UnsafeMutableRawBufferPointer, maxBody: Int) -> String {
        switch ChunkedDecoder.decode(buf, maxBody: maxBody) {
        case .incomplete: return "incomplete"
        case let .failed(status): return "fail \(status)"
        case let .complete(length, consumed):
            return "ok body:\(printable(UnsafeRawBufferPointer(rebasing: buf[0..<length]))) used:\(consumed)"
        }
    }

    /// A chunked body through the streaming decoder (`BodyStream`), fed `step` bytes
    /// more at a time: answers as `chunkedAnswer` does (without its size limit).
    static func streamedAnswer(_ buf: UnsafeMutableRawBufferPointer, step: Int = Int.max) -> String {
        streamedAnswer(buf) { seen in seen > buf.count - step ? buf.count : seen + step }
    }

    /// As above, the bytes arriving in pieces: `arrived(seen)` is how many have come
    /// once the decoder asks for more after `seen` (the fuzzer chooses the cuts).
    static func streamedAnswer(_ buf: UnsafeMutableRawBufferPointer, arrived: (Int) -> Int) -> String {
        guard let p = buf.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return "incomplete" }
        var stream = BodyStream.chunked(headLength: 1)
        var data: [UInt8] = []
        var at = 0
        var seen = min(buf.count, arrived(0))
        while true {
            switch stream.next(p + at, seen - at) {
            case let .data(n):
                data.append(contentsOf: UnsafeBufferPointer(start: p + at, count: n))
                at += n
            case let .skip(n):
                at += n
            case .needMore:
                guard seen < buf.count else { return "incomplete" }
                seen = min(buf.count, max(seen + 1, arrived(seen)))
            case let .done(n):
                return data.withUnsafeBytes { "ok body:\(printable($0)) used:\(at + n)" }
            case let .failed(status):
                return "fail \(status)"
            }
        }
    }

    /// A client frame's header (and, when the whole frame is there, its unmasked payload).
    static func wsFrameAnswer(_ buf: UnsafeMutableRawBufferPointer) -> String {
        guard let p = buf.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return "incomplete" }
        switch WsFrame.parseHeader(p, buf.count) {
        case .incomplete: return "incomplete"
        case let .failed(code): return "fail \(code)"
        case let .header(h):
            var text = "ok fin:\(h.fin ? 1 : 0) op:\(h.opcode) head:\(h.headerLength) len:\(h.payloadLength)"
            if UInt64(buf.count - h.headerLength) >= h.payloadLength {
                let n = Int(h.payloadLength)
                WsFrame.unmask(p + h.headerLength, n, h.mask)
                text += " data:" + printable(UnsafeRawBufferPointer(start: p + h.headerLength, count: n))
            }
            return text
        }
    }

    /// Bytes as text, with anything outside printable ASCII as \xNN.
    static func printable(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits: StaticString = "0123456789abcdef"
        var out: [UInt8] = []
        for c in bytes {
            if c >= 0x20 && c < 0x7F && c != UInt8(ascii: "\\") {
                out.append(c)
            } else {
                out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "x"))
                out.append(digits.utf8Start[Int(c >> 4)]); out.append(digits.utf8Start[Int(c & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func equals(_ s: String, _ t: StaticString) -> Bool {
        let a = Array(s.utf8)
        guard a.count == t.utf8CodeUnitCount else { return false }
        for i in 0..<a.count where a[i] != t.utf8Start[i] { return false }
        return true
    }

    // MARK: The vectors

    static let all: [CodecVector] = [
        // Found by `make fuzz` (issue 27): the same head, whole or cut, gets one answer.
        .init(
            codec: .head, name: "fuzz: 33-byte method, whole",
            input: "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV / HTTP/1.1\r\nHost: h\r\n\r\n", expected: "fail 400"),
        .init(codec: .head, name: "fuzz: 33-byte method, cut", input: "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV", expected: "fail 400"),
        .init(
            codec: .head, name: "fuzz: 32-byte method",
            input: "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV / HTTP/1.1\r\nHost: h\r\n\r\n", expected: "ok none head:56 keep:1"),
        // SNTP answers (issue 23): eras, the cookie check, the server's hold, bad fields.
        .init(
            codec: .sntp, name: "SNTP answer, era 0",
            input:
                "01 02 03 04 05 06 07 08 00 64 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 80 00 00 00 EE F4 50 80 80 00 00 00",
            expected: "time 1800000000550"),
        .init(
            codec: .sntp, name: "SNTP answer, era 1 (after 2036)",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 10 00 00 00 00 00 00 00 10 00 00 00 00",
            expected: "time 2085978512000"),
        .init(
            codec: .sntp, name: "SNTP answer, server held 30 ms",
            input:
                "01 02 03 04 05 06 07 08 00 64 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 07 AE 14 7B",
            expected: "time 1800000000065"),
        .init(
            codec: .sntp, name: "SNTP answer, round trip shorter than held",
            input:
                "01 02 03 04 05 06 07 08 00 0A 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 80 00 00 00",
            expected: "time 1800000000500"),
        .init(
            codec: .sntp, name: "SNTP answer to another cookie",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP kiss-o'-death",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00 00",
            expected: "kiss-o'-death"),
        .init(
            codec: .sntp, name: "SNTP stratum 16",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP leap alarm",
            input:
                "01 02 03 04 05 06 07 08 00 00 E4 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP client mode",
            input:
                "01 02 03 04 05 06 07 08 00 00 23 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP version 2",
            input:
                "01 02 03 04 05 06 07 08 00 00 14 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP 47 bytes",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 EE F4 50 80 00 00 00 00 EE F4 50 80 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP transmit 0",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP before 1970",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 80 00 00 00 00 00 00 00 80 00 00 00 00 00 00 00",
            expected: "invalid"),
        .init(
            codec: .sntp, name: "SNTP last ms of era 0",
            input:
                "01 02 03 04 05 06 07 08 00 00 24 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF",
            expected: "time 2085978495999"),
        // Whether a peer waiting for a receive block has a whole unit in its socket
        // (issue 21: ready peers go ahead of those trickling halves).
        .init(codec: .wholeHead, name: "whole head", input: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", expected: "whole"),
        .init(codec: .wholeHead, name: "whole head after empty lines", input: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", expected: "whole"),
        .init(codec: .wholeHead, name: "half head", input: "GET / HTTP/1.1\r\nHost: a\r\n", expected: "part"),
        .init(codec: .wholeHead, name: "empty lines only", input: "\r\n\r\n\r\n", expected: "part"),
        .init(codec: .wholeHead, name: "head cut in its last CRLF", input: "GET / HTTP/1.1\r\nHost: a\r\n\r", expected: "part"),
        .init(codec: .wholeHead, name: "nothing", input: "", expected: "part"),
        .init(codec: .wholeFrame, name: "whole masked frame", input: "81 82 01 02 03 04 61 62", expected: "whole"),
        .init(codec: .wholeFrame, name: "frame short of its payload", input: "81 83 01 02 03 04 61 62", expected: "part"),
        .init(codec: .wholeFrame, name: "frame cut in its mask", input: "81 82 01 02", expected: "part"),
        .init(codec: .wholeFrame, name: "64-bit length past 2^32", input: "82 FF 00 00 00 01 00 00 00 00 01 02 03 04 00", expected: "part"),
        .init(codec: .wholeFrame, name: "unmasked frame: wrong, so answered at once", input: "81 02 61 62", expected: "whole"),
        .init(codec: .wholeRecord, name: "whole TLS record", input: "16 03 01 00 02 01 00", expected: "whole"),
        .init(codec: .wholeRecord, name: "TLS record short of its length", input: "16 03 01 00 03 01 00", expected: "part"),
        .init(codec: .wholeRecord, name: "TLS record cut in its header", input: "16 03 01 00", expected: "part"),
        .init(codec: .wholeRecord, name: "TLS record of 65535 bytes, 5 here", input: "17 03 03 FF FF", expected: "part"),
        .init(
            codec: .jsonPath, name: "JSON path, the whole document", input: "$ { \"a\": 1, \"b\": [2, 3] }",
            expected: "object { \"a\": 1, \"b\": [2, 3] } @0 count:2"),
        .init(codec: .jsonPath, name: "JSON path, a member", input: "$.a { \"a\": 1, \"b\": [2, 3] }", expected: "number 1 @7 int:1 num:1.0"),
        .init(codec: .jsonPath, name: "JSON path, an array", input: "$.b { \"a\": 1, \"b\": [2, 3] }", expected: "array [2, 3] @15 count:2"),
        .init(codec: .jsonPath, name: "JSON path, an element", input: "$.b[1] { \"a\": 1, \"b\": [2, 3] }", expected: "number 3 @19 int:3 num:3.0"),
        .init(
            codec: .jsonPath, name: "JSON path, deep with an escaped string", input: "$.a.b[1].c {\"a\": {\"b\": [0, {\"c\": \"x\\\"y\\u263a\"}]}}",
            expected: "string \"x\\x5c\"y\\x5cu263a\" @22 =x\"y\\xe2\\x98\\xba"),
        .init(codec: .jsonPath, name: "JSON path, elements of elements", input: "$[1][0][2] [[], [[7, 8, true]]]", expected: "bool true @13 =true"),
        .init(codec: .jsonPath, name: "JSON path, null", input: "$.x[1] {\"x\": [false, null]}", expected: "null null @14"),
        .init(codec: .jsonPath, name: "JSON path, an escaped name", input: "$.kA {\"k\\u0041\": -1.5e-3}", expected: "number -1.5e-3 @12 int:nil num:-0.0015"),
        .init(codec: .jsonPath, name: "JSON path, the last element", input: "$[2] [1, 2, 3]", expected: "number 3 @7 int:3 num:3.0"),
        .init(codec: .jsonPath, name: "JSON path, past the last element", input: "$[3] [1, 2, 3]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, index 2^31", input: "$[2147483648] [1, 2]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, index 2^32 (0 if cut to 32 bits)", input: "$[4294967296] [1, 2]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, index 2^32 + 1 (1 if cut)", input: "$[4294967297] [1, 2]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, index 2^64 + 1 (1 if wrapped)", input: "$[18446744073709551617] [1, 2]", expected: "nil"),
        .init(
            codec: .jsonPath, name: "JSON path, integer 2^31", input: "$.n {\"n\": 2147483648}",
            expected: "number 2147483648 @6 int:2147483648 num:2147483648.0"),
        .init(
            codec: .jsonPath, name: "JSON path, integer -2^31 - 1", input: "$.n {\"n\": -2147483649}",
            expected: "number -2147483649 @6 int:-2147483649 num:-2147483649.0"),
        .init(
            codec: .jsonPath, name: "JSON path, integer 2^53 + 1", input: "$.n {\"n\": 9007199254740993}",
            expected: "number 9007199254740993 @6 int:9007199254740993 num:9007199254740992.0"),
        .init(
            codec: .jsonPath, name: "JSON path, integer -2^63", input: "$.n {\"n\": -9223372036854775808}",
            expected: "number -9223372036854775808 @6 int:-9223372036854775808 num:-9.223372036854776e+18"),
        .init(
            codec: .jsonPath, name: "JSON path, integer 2^63", input: "$.n {\"n\": 9223372036854775808}",
            expected: "number 9223372036854775808 @6 int:nil num:9.223372036854776e+18"),
        .init(
            codec: .jsonPath, name: "JSON path, a fraction past 2^32", input: "$.n {\"n\": 4294967296.5}",
            expected: "number 4294967296.5 @6 int:nil num:4294967296.5"),
        .init(codec: .jsonPath, name: "JSON path, a member of a string", input: "$.a.b {\"a\": \"b\"}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, an index into an object", input: "$[0] {\"0\": 1}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, a missing member", input: "$.c {\"a\": 1}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, no $", input: "a {\"a\": 1}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, an empty name", input: "$..a {\"a\": 1}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, a trailing dot", input: "$.a. {\"a\": 1}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, an unclosed index", input: "$[0 [1]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, an empty index", input: "$[] [1]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, a negative index", input: "$[-1] [1]", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, an unterminated document", input: "$.a {\"a\": 1", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, a trailing comma", input: "$.a {\"a\": [1,]}", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, garbage after the document", input: "$.a {\"a\": 1} }", expected: "nil"),
        .init(codec: .jsonPath, name: "JSON path, an empty document", input: "$ ", expected: "nil"),
        .init(
            codec: .jsonPath, name: "JSON path, 33 levels deep",
            input: "$[0] [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", expected: "nil"),
        .init(
            codec: .jsonPath, name: "JSON path, 32 levels deep",
            input:
                "$[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0] [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            expected: "array [] @31 count:0"),
        .init(codec: .jsonNumber, name: "JSON number, 3 digits", input: "3 1732812345.1234", expected: "1732812345.123"),
        .init(codec: .jsonNumber, name: "JSON number, rounded up", input: "2 -2.005e1", expected: "-20.05"),
        .init(codec: .jsonNumber, name: "JSON number, no digits, past 2^31", input: "0 4294967296.4", expected: "4294967296"),
        .init(codec: .jsonNumber, name: "JSON number, small negative rounds to 0", input: "2 -0.001", expected: "0.00"),
        .init(codec: .jsonNumber, name: "JSON number, NaN", input: "1 nan", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON number, +inf", input: "1 inf", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON number, -inf", input: "3 -inf", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON number, past 2^63", input: "0 9.3e18", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON number, 1e300", input: "2 -1e300", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON number, read as inf", input: "2 1e999", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON number, fewer digits past 2^63", input: "6 1e15", expected: "1000000000000000.000"),
        .init(codec: .jsonNumber, name: "JSON number, 18 digits asked", input: "18 0.5", expected: "0.500000000000000000"),
        .init(codec: .jsonNumber, name: "JSON number, 30 digits asked", input: "30 0.25", expected: "0.250000000000000000"),
        .init(codec: .jsonNumber, name: "JSON number, negative digits", input: "-2 7.6", expected: "8"),
        .init(codec: .jsonNumber, name: "JSON number, under 2^63", input: "1 -4.5e18", expected: "-4500000000000000000"),
        .init(codec: .jsonNumber, name: "JSON plain 0.5", input: "plain 0.5", expected: "0.5"),
        .init(codec: .jsonNumber, name: "JSON plain 1e22", input: "plain -1e22", expected: "-1e+22"),
        .init(codec: .jsonNumber, name: "JSON plain NaN", input: "plain nan", expected: "null"),
        .init(codec: .jsonNumber, name: "JSON plain inf", input: "plain -inf", expected: "null"),
        .init(codec: .mqtt, name: "MQTT CONNACK accepted", input: "20 02 00 00", expected: "ok type:2 len:4 id:0 sp:0 rc:0"),
        .init(codec: .mqtt, name: "MQTT CONNACK refused, session present", input: "20 02 01 05", expected: "ok type:2 len:4 id:0 sp:1 rc:5"),
        .init(codec: .mqtt, name: "MQTT CONNACK reserved bit", input: "20 02 02 00", expected: "fail mqtt: bad field"),
        .init(
            codec: .mqtt, name: "MQTT PUBLISH QoS 0", input: "30 07 00 03 61 2f 62 68 69",
            expected: "ok type:3 len:9 id:0 qos:0 r:0 d:0 topic:a/b data:hi"),
        .init(
            codec: .mqtt, name: "MQTT PUBLISH QoS 1 retained", input: "33 09 00 03 61 2f 62 01 02 68 69",
            expected: "ok type:3 len:11 id:258 qos:1 r:1 d:0 topic:a/b data:hi"),
        .init(
            codec: .mqtt, name: "MQTT PUBLISH QoS 2 DUP", input: "3c 06 00 01 74 ff ff 00",
            expected: "ok type:3 len:8 id:65535 qos:2 r:0 d:1 topic:t data:\\x00"),
        .init(codec: .mqtt, name: "MQTT PUBLISH QoS 3", input: "36 05 00 01 74 00 01", expected: "fail mqtt: bad flags"),
        .init(codec: .mqtt, name: "MQTT PUBLISH DUP on QoS 0", input: "38 03 00 01 74", expected: "fail mqtt: bad flags"),
        .init(codec: .mqtt, name: "MQTT wildcard in a published topic", input: "30 03 00 01 23", expected: "fail mqtt: bad topic or string"),
        .init(codec: .mqtt, name: "MQTT topic not UTF-8", input: "30 04 00 02 c3 28", expected: "fail mqtt: bad topic or string"),
        .init(codec: .mqtt, name: "MQTT NUL in a topic", input: "30 04 00 02 61 00", expected: "fail mqtt: bad topic or string"),
        .init(codec: .mqtt, name: "MQTT topic longer than the packet", input: "30 03 00 09 61", expected: "fail mqtt: fields do not fit the length"),
        .init(codec: .mqtt, name: "MQTT remaining length in five bytes", input: "30 ff ff ff ff 01", expected: "fail mqtt: bad remaining length"),
        .init(codec: .mqtt, name: "MQTT remaining length longer than needed", input: "30 80 00", expected: "fail mqtt: bad remaining length"),
        .init(codec: .mqtt, name: "MQTT 256 MiB announced", input: "30 ff ff ff 7f", expected: "fail mqtt: packet too large"),
        .init(codec: .mqtt, name: "MQTT 4096 + 3 bytes to a 4 KiB receiver", input: "30 80 20", expected: "fail mqtt: packet too large"),
        .init(codec: .mqtt, name: "MQTT cut short", input: "30 05 00 01 74", expected: "incomplete"),
        .init(codec: .mqtt, name: "MQTT length byte still to come", input: "30 80", expected: "incomplete"),
        .init(codec: .mqtt, name: "MQTT SUBSCRIBE", input: "82 08 00 0a 00 03 61 2f 2b 01", expected: "ok type:8 len:10 id:10 a/+@1"),
        .init(codec: .mqtt, name: "MQTT SUBSCRIBE misplaced #", input: "82 07 00 0a 00 02 61 23 00", expected: "fail mqtt: bad topic or string"),
        .init(codec: .mqtt, name: "MQTT SUBSCRIBE QoS 3", input: "82 06 00 0a 00 01 61 03", expected: "fail mqtt: bad field"),
        .init(codec: .mqtt, name: "MQTT SUBACK", input: "90 04 00 0a 01 80", expected: "ok type:9 len:6 id:10 codes:\\x01\\x80"),
        .init(codec: .mqtt, name: "MQTT UNSUBSCRIBE", input: "a2 05 00 02 00 01 23", expected: "ok type:10 len:7 id:2 #@0"),
        .init(codec: .mqtt, name: "MQTT PUBREL without its flags", input: "60 02 00 01", expected: "fail mqtt: bad flags"),
        .init(codec: .mqtt, name: "MQTT PUBACK id 0", input: "40 02 00 00", expected: "fail mqtt: packet identifier 0"),
        .init(codec: .mqtt, name: "MQTT PINGRESP", input: "d0 00", expected: "ok type:13 len:2 id:0"),
        .init(codec: .mqtt, name: "MQTT type 0", input: "00 00", expected: "fail mqtt: bad packet type"),
        .init(
            codec: .mqtt, name: "MQTT CONNECT", input: "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 62",
            expected: "ok type:1 len:15 id:0 flags:2 ka:60 cid:b"),
        // multipart/form-data bodies (boundary "b"), read in 7-byte pieces.
        .init(
            codec: .multipart, name: "two fields",
            input:
                "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\r\nhello\r\n--b--\r\n",
            expected: "[a|]{1}[f|x.txt]{hello} ok"),
        .init(
            codec: .multipart, name: "delimiter look-alikes in data", input: "--b\r\n\r\n\r\n-\r\n--\r\n--c\r\n--b--",
            expected: "[|]{\\x0d\\x0a-\\x0d\\x0a--\\x0d\\x0a--c} ok"),
        .init(codec: .multipart, name: "no terminator", input: "--b\r\n\r\ndata", expected: "[|]{data fail no terminator"),
        .init(codec: .multipart, name: "junk after the delimiter", input: "--b\r\n\r\n1\r\n--bjunk", expected: "[|]{1} fail boundary"),
        .init(
            codec: .multipart, name: "header line without a colon", input: "--b\r\nno colon\r\n\r\n1\r\n--b--",
            expected: " fail header"),
        .init(
            codec: .multipart, name: "header block too large",
            input:
                "--b\r\nX: 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\n\r\n--b--",
            expected: " fail header too large"),
        // Static file paths (serveDir): decoded once, never leaving the root.
        .init(codec: .staticPath, name: "plain", input: "/css/site.css", expected: "ok css/site.css file"),
        .init(codec: .staticPath, name: "root", input: "/", expected: "ok  dir"),
        .init(codec: .staticPath, name: "folder", input: "/docs/", expected: "ok docs dir"),
        .init(codec: .staticPath, name: "dots and doubles dropped", input: "//a/./b//c", expected: "ok a/b/c file"),
        .init(codec: .staticPath, name: "escapes decoded once", input: "/a%20b/%2541", expected: "ok a b/%41 file"),
        .init(codec: .staticPath, name: "dot-dot", input: "/a/../b", expected: "forbidden"),
        .init(codec: .staticPath, name: "encoded dot-dot", input: "/%2e%2E/etc", expected: "forbidden"),
        .init(codec: .staticPath, name: "encoded slash", input: "/a%2fb", expected: "forbidden"),
        .init(codec: .staticPath, name: "encoded backslash", input: "/..%5cx", expected: "forbidden"),
        .init(codec: .staticPath, name: "backslash", input: "/a\\b", expected: "forbidden"),
        .init(codec: .staticPath, name: "encoded NUL", input: "/a%00.txt", expected: "forbidden"),
        .init(codec: .staticPath, name: "bad escape", input: "/a%zz", expected: "bad"),
        .init(codec: .staticPath, name: "cut escape", input: "/a%4", expected: "bad"),
        .init(codec: .staticPath, name: "relative", input: "a/b", expected: "bad"),
        .init(
            codec: .staticPath, name: "longer than the buffer", input: "/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789x",
            expected: "too long"),
        // Byte ranges (RFC 9110 §14): offsets past 32 bits must work on a 32-bit board.
        .init(codec: .range, name: "first-last", input: "256|bytes=10-19", expected: "partial 10 10"),
        .init(codec: .range, name: "suffix", input: "256|bytes=-6", expected: "partial 250 6"),
        .init(codec: .range, name: "suffix longer than the file", input: "5|bytes=-100", expected: "partial 0 5"),
        .init(codec: .range, name: "open end", input: "256|bytes=250-", expected: "partial 250 6"),
        .init(codec: .range, name: "last past the end", input: "256|bytes=200-999", expected: "partial 200 56"),
        .init(codec: .range, name: "start past the end", input: "256|bytes=256-300", expected: "unsatisfiable"),
        .init(codec: .range, name: "zero suffix", input: "256|bytes=-0", expected: "unsatisfiable"),
        .init(codec: .range, name: "several ranges", input: "256|bytes=0-1,5-6", expected: "full"),
        .init(codec: .range, name: "other unit", input: "256|items=0-1", expected: "full"),
        .init(codec: .range, name: "reversed", input: "256|bytes=9-1", expected: "full"),
        .init(codec: .range, name: "past 4 GiB", input: "6000000000|bytes=4294967296-4294967300", expected: "partial 4294967296 5"),
        .init(codec: .range, name: "past 64 bits", input: "256|bytes=18446744073709551616-", expected: "full"),
        .init(codec: .range, name: "sign", input: "256|bytes=+1-2", expected: "full"),
        // HTTP dates (Last-Modified, If-Modified-Since): IMF-fixdate only.
        .init(
            codec: .httpDate, name: "RFC 9110 example", input: "Sun, 06 Nov 1994 08:49:37 GMT",
            expected: "784111777 Sun, 06 Nov 1994 08:49:37 GMT"),
        .init(
            codec: .httpDate, name: "leap day", input: "Thu, 29 Feb 2024 23:59:59 GMT",
            expected: "1709251199 Thu, 29 Feb 2024 23:59:59 GMT"),
        .init(codec: .httpDate, name: "garbage", input: "Wed, 01 Jan 2celebrate", expected: "invalid"),
        .init(
            codec: .httpDate, name: "after 2038 on 32 bits", input: "Fri, 01 Jan 2100 00:00:00 GMT",
            expected: "4102444800 Fri, 01 Jan 2100 00:00:00 GMT"),
        .init(codec: .httpDate, name: "RFC 850 form", input: "Sunday, 06-Nov-94 08:49:37 GMT", expected: "invalid"),
        .init(codec: .httpDate, name: "bad month", input: "Sun, 06 Nox 1994 08:49:37 GMT", expected: "invalid"),
        // DNS answers to an A query for example.com, ID 0x1234 (the resolver's codec).
        .init(
            codec: .dnsA, name: "DNS A record",
            input: "12 34 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 07",
            expected: "addresses 1 c0000207"),
        .init(
            codec: .dnsA, name: "DNS NXDOMAIN", input: "12 34 81 83 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01",
            expected: "nxdomain"),
        .init(
            codec: .dnsA, name: "DNS wrong ID",
            input: "43 21 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 07",
            expected: "ignored: another ID"),
        .init(
            codec: .dnsA, name: "DNS pointer to itself",
            input: "12 34 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 1d 00 01 00 01 00 00 00 01 00 04 01 02 03 04",
            expected: "ignored: record outside the packet"),
        .init(
            codec: .dnsA, name: "DNS pointer past the end",
            input: "12 34 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 ff ff 00 01 00 01 00 00 00 01 00 04 01 02 03 04",
            expected: "ignored: record outside the packet"),
        .init(
            codec: .dnsA, name: "DNS CNAME loop",
            input: "12 34 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 05 00 01 00 00 0e 10 00 04 01 78 c0 29",
            expected: "ignored: bad CNAME"),
        .init(
            codec: .dnsA, name: "DNS rdlength past the end",
            input: "12 34 81 80 00 01 00 01 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 10 01 02 03 04",
            expected: "ignored: record data outside the packet"),
        .init(
            codec: .dnsA, name: "DNS truncated (TC)", input: "12 34 83 80 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01",
            expected: "failed: truncated answer"),
        // A datagram over 512 bytes without TC, cut to the resolver's buffer: the records
        // that arrived whole are used; none whole is TC's answer. Not cut, the same bytes
        // are malformed.
        .init(
            codec: .dnsACut, name: "DNS cut in the third record",
            input:
                "12 34 81 80 00 01 00 03 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 07 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 08 c0 0c 00 01 00 01",
            expected: "addresses 2 c0000207"),
        .init(
            codec: .dnsA, name: "DNS the same, not cut",
            input:
                "12 34 81 80 00 01 00 03 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 07 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 08 c0 0c 00 01 00 01",
            expected: "ignored: record outside the packet"),
        .init(
            codec: .dnsACut, name: "DNS cut in the first record's data",
            input: "12 34 81 80 00 01 00 03 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00",
            expected: "failed: truncated answer"),
        .init(
            codec: .dnsACut, name: "DNS cut after the answers",
            input:
                "12 34 81 80 00 01 00 01 00 00 00 01 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 01 00 01 00 00 0e 10 00 04 c0 00 02 07 c0 0c 00 10",
            expected: "addresses 1 c0000207"),
        .init(
            codec: .dnsACut, name: "DNS cut: a CNAME, its target's record cut",
            input:
                "12 34 81 80 00 01 00 02 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01 c0 0c 00 05 00 01 00 00 0e 10 00 04 01 78 c0 0c c0 29 00 01 00 01 00 00",
            expected: "failed: truncated answer"),
        // Responses (the HTTP client): framing by RFC 9112 §6.3, numbers as on the server.
        .init(
            codec: .response, name: "200 with length", input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            expected: "ok 200 length:5 head:38 keep:1 fields:1"),
        .init(
            codec: .response, name: "chunked", input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            expected: "ok 200 chunked head:47 keep:1 fields:1"),
        .init(
            codec: .response, name: "TE and CL: chunked, then close",
            input:
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            expected: "ok 200 chunked head:66 keep:0 fields:2"),
        .init(
            codec: .response, name: "no framing: until close", input: "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
            expected: "ok 200 close head:30 keep:0 fields:1"),
        .init(
            codec: .response, name: "1.0 keep-alive", input: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            expected: "ok 200 none head:62 keep:1 fields:2"),
        .init(
            codec: .response, name: "204 has no body", input: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            expected: "ok 204 none head:47 keep:1 fields:1"),
        .init(
            codec: .response, name: "304 has no body", input: "HTTP/1.1 304 Not Modified\r\n\r\n",
            expected: "ok 304 none head:29 keep:1 fields:0"),
        .init(
            codec: .response, name: "100 continue (skipped by the client)", input: "HTTP/1.1 100 Continue\r\n\r\n",
            expected: "ok 100 none head:25 keep:1 fields:0"),
        .init(
            codec: .response, name: "101 switching", input: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            expected: "ok 101 none head:56 keep:1 fields:1"),
        .init(
            codec: .responseToHead, name: "HEAD: no body whatever the length",
            input:
                "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n", expected: "ok 200 none head:40 keep:1 fields:1"),
        .init(
            codec: .response, name: "no reason phrase", input: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
            expected: "ok 404 none head:35 keep:1 fields:1"),
        .init(
            codec: .response, name: "CL 2^32 on every board", input: "HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\n",
            expected: "ok 200 length:4294967296 head:47 keep:1 fields:1"),
        .init(
            codec: .response, name: "CL beyond 64 bits", input: "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            expected: "fail"),
        .init(
            codec: .response, name: "conflicting CL", input: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            expected: "fail"),
        .init(
            codec: .response, name: "gzip transfer coding", input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            expected: "fail"),
        .init(codec: .response, name: "HTTP/2 status line", input: "HTTP/2 200\r\n\r\n", expected: "fail"),
        .init(codec: .response, name: "two-digit status", input: "HTTP/1.1 20 OK\r\n\r\n", expected: "fail"),
        .init(codec: .response, name: "status 099", input: "HTTP/1.1 099 x\r\n\r\n", expected: "fail"),
        // RFC 9112 §4: status-line = HTTP-version SP 3DIGIT SP [reason-phrase].
        .init(codec: .response, name: "four-digit status", input: "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", expected: "fail"),
        .init(codec: .response, name: "letter after the status", input: "HTTP/1.1 200x\r\nContent-Length: 0\r\n\r\n", expected: "fail"),
        .init(codec: .response, name: "tab after the status", input: "HTTP/1.1 200\tOK\r\nContent-Length: 0\r\n\r\n", expected: "fail"),
        .init(
            codec: .response, name: "empty reason after SP", input: "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
            expected: "ok 200 none head:36 keep:1 fields:1"),
        .init(codec: .response, name: "cut after the status", input: "HTTP/1.1 200", expected: "incomplete"),
        .init(codec: .response, name: "bare LF", input: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", expected: "fail"),
        .init(codec: .response, name: "not HTTP", input: "SSH-2.0-OpenSSH\r\n", expected: "fail"),
        .init(codec: .response, name: "cut in the status line", input: "HTTP/1.1 20", expected: "incomplete"),
        .init(codec: .response, name: "cut in a header", input: "HTTP/1.1 200 OK\r\nContent-Len", expected: "incomplete"),
        // Content-Length around 2^31, 2^32, 2^63, 2^64: a 64-bit value on every board.
        .init(
            codec: .head, name: "CL 2^31-1", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2147483647\r\n\r\n",
            expected: "ok length:2147483647 head:56 keep:1"),
        .init(
            codec: .head, name: "CL 2^31", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2147483648\r\n\r\n",
            expected: "ok length:2147483648 head:56 keep:1"),
        .init(
            codec: .head, name: "CL 2^32-1", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967295\r\n\r\n",
            expected: "ok length:4294967295 head:56 keep:1"),
        .init(
            codec: .head, name: "CL 2^32", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967296\r\n\r\n",
            expected: "ok length:4294967296 head:56 keep:1"),
        .init(
            codec: .head, name: "CL 3e9", input: "POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 3000000000\r\n\r\n",
            expected: "ok length:3000000000 head:61 keep:1"),
        .init(
            codec: .head, name: "CL 11 nines", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n",
            expected: "ok length:99999999999 head:57 keep:1"),
        .init(
            codec: .head, name: "CL 2^63-1", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
            expected: "ok length:9223372036854775807 head:65 keep:1"),
        .init(
            codec: .head, name: "CL 2^63", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n",
            expected: "ok length:9223372036854775808 head:65 keep:1"),
        .init(
            codec: .head, name: "CL 2^64-1", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n",
            expected: "ok length:18446744073709551615 head:66 keep:1"),
        .init(
            codec: .head, name: "CL 2^64", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
            expected: "fail 413"),
        .init(
            codec: .head, name: "CL 10^20", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
            expected: "fail 413"),
        .init(
            codec: .head, name: "CL 2^31 leading zeros", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00000000000000000000002147483648\r\n\r\n",
            expected: "ok length:2147483648 head:78 keep:1"),
        .init(
            codec: .head, name: "CL 5 leading zeros", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000000000005\r\n\r\n",
            expected: "ok length:5 head:73 keep:1"),
        .init(
            codec: .head, name: "CL 2^32 in whitespace", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t 4294967296 \t\r\n\r\n",
            expected: "ok length:4294967296 head:60 keep:1"),
        .init(
            codec: .head, name: "CL zero", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000\r\n\r\n",
            expected: "ok none head:50 keep:1"),
        .init(
            codec: .head, name: "CL 2^32 in hex", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x100000000\r\n\r\n",
            expected: "fail 400"),
        .init(
            codec: .head, name: "CL -2^31", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -2147483648\r\n\r\n",
            expected: "fail 400"),
        .init(
            codec: .head, name: "CL +2^32", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4294967296\r\n\r\n",
            expected: "fail 400"),
        .init(
            codec: .head, name: "CL inner space", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42949 67296\r\n\r\n",
            expected: "fail 400"),
        .init(
            codec: .head, name: "CL 2^32+5 then 5 (wrap shape)",
            input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967301\r\nContent-Length: 5\r\n\r\n",
            expected: "fail 400"),
        .init(
            codec: .head, name: "CL 2^64+5 then 5 (wrap shape)",
            input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551621\r\nContent-Length: 5\r\n\r\n",
            expected: "fail 413"),
        .init(
            codec: .head, name: "CL 2^32 twice", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967296\r\nContent-Length: 04294967296\r\n\r\n",
            expected: "ok length:4294967296 head:85 keep:1"),
        .init(
            codec: .head, name: "simple GET", input: "GET /a?b=c HTTP/1.1\r\nHost: board\r\n\r\n",
            expected: "ok none head:36 keep:1"),
        .init(
            codec: .head, name: "HTTP/1.0 close", input: "GET / HTTP/1.0\r\n\r\n",
            expected: "ok none head:18 keep:0"),
        .init(
            codec: .head, name: "chunked head", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            expected: "ok chunked head:56 keep:1"),
        .init(
            codec: .head, name: "Expect in HTTP/1.1", input: "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            expected: "ok length:5 head:69 keep:1 expect"),
        .init(
            codec: .head, name: "Expect ignored in HTTP/1.0", input: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            expected: "ok length:5 head:60 keep:0"),
        // Request targets (RFC 9112 §3.2): absolute-form must be accepted, its path is
        // `uri` for every handler, and its authority wins over Host (§3.2.2).
        .init(
            codec: .target, name: "origin-form", input: "GET /a/b?c=d HTTP/1.1\r\nHost: h\r\n\r\n",
            expected: "uri:/a/b query:c=d host:h"),
        .init(
            codec: .target, name: "absolute-form", input: "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n",
            expected: "uri:/a query: host:x"),
        .init(
            codec: .target, name: "absolute-form: its authority, not Host", input: "GET http://board:8080/a/b?q=1 HTTP/1.1\r\nHost: elsewhere\r\n\r\n",
            expected: "uri:/a/b query:q=1 host:board:8080"),
        .init(
            codec: .target, name: "absolute-form, scheme in capitals, https", input: "GET HTTPS://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
            expected: "uri:/ query: host:x"),
        .init(
            codec: .target, name: "absolute-form, empty path is /", input: "GET http://x HTTP/1.1\r\nHost: x\r\n\r\n",
            expected: "uri:/ query: host:x"),
        .init(
            codec: .target, name: "absolute-form, empty path and a query", input: "GET http://x?a=/b HTTP/1.1\r\nHost: x\r\n\r\n",
            expected: "uri:/ query:a=/b host:x"),
        .init(
            codec: .target, name: "absolute-form, IPv6 literal", input: "GET http://[::1]:80/a HTTP/1.1\r\nHost: x\r\n\r\n",
            expected: "uri:/a query: host:[::1]:80"),
        .init(
            codec: .target, name: "absolute-form keeps the dot-dot for serveDir to refuse", input: "GET http://x/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            expected: "uri:/../etc/passwd query: host:x"),
        .init(
            codec: .target, name: "absolute-form in HTTP/1.0, no Host", input: "GET http://x/a HTTP/1.0\r\n\r\n",
            expected: "uri:/a query: host:x"),
        .init(
            codec: .target, name: "absolute-form still needs Host in HTTP/1.1", input: "GET http://x/a HTTP/1.1\r\n\r\n",
            expected: "fail 400"),
        .init(codec: .target, name: "no authority", input: "GET http:// HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "empty host, a path", input: "GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "port without a host", input: "GET http://:80/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "userinfo", input: "GET http://u:p@x/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "one slash", input: "GET http:/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "letters in the port", input: "GET http://x:8o/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "the highest port", input: "GET http://x:65535/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "uri:/a query: host:x:65535"),
        .init(codec: .target, name: "a port TCP has not", input: "GET http://x:65536/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "a port of twenty digits", input: "GET http://x:99999999999999999999/ HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(codec: .target, name: "another scheme", input: "GET ftp://x/a HTTP/1.1\r\nHost: x\r\n\r\n", expected: "fail 400"),
        .init(
            codec: .target, name: "asterisk-form unchanged", input: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
            expected: "uri:* query: host:h"),
        .init(
            codec: .target, name: "authority-form unchanged", input: "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n",
            expected: "uri:h:443 query: host:h"),
        .init(
            codec: .head, name: "incomplete head", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42949",
            expected: "incomplete"),

        // Chunk sizes around 2^31, 2^32, 2^63, 2^64 (hex): over the limit is 413, never a wrap.
        .init(codec: .chunked, name: "chunk 2^31", input: "80000000\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^31-1", input: "7fffffff\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^32-1", input: "FFFFFFFF\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^32+5", input: "100000005\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^63", input: "8000000000000000\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^64-1", input: "ffffffffffffffff\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^64+5", input: "10000000000000005\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^68+5", input: "100000000000000005\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "chunk 2^32+5 with ext", input: "100000005;a=b\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .chunked, name: "second chunk pushes over", input: "3fff\r\n", expected: "incomplete"),
        .init(
            codec: .chunked, name: "chunk 5 leading zeros", input: "000000000000000000000005\r\nhello\r\n0\r\n\r\n",
            expected: "ok body:hello used:38"),
        .init(
            codec: .chunked, name: "last chunk leading zeros", input: "5\r\nhello\r\n00000000000000000000\r\n\r\n",
            expected: "ok body:hello used:34"),
        .init(
            codec: .chunked, name: "plain chunks", input: "5;x=1\r\nhello\r\n7\r\n, world\r\n0\r\nT: v\r\n\r\n",
            expected: "ok body:hello, world used:37"),
        .init(codec: .chunked, name: "junk after chunk size", input: "5 junk\r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(codec: .chunked, name: "space after chunk size", input: "5 \r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(
            codec: .chunked, name: "BWS before extension", input: "5 \t;a=b\r\nhello\r\n0\r\n\r\n",
            expected: "ok body:hello used:21"),
        .init(codec: .chunked, name: "trailer without colon", input: "5\r\nhello\r\n0\r\nNoColon\r\n\r\n", expected: "fail 400"),
        .init(codec: .chunked, name: "trailer with empty name", input: "5\r\nhello\r\n0\r\n: v\r\n\r\n", expected: "fail 400"),
        .init(codec: .chunked, name: "chunk size not hex", input: "0x5\r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(codec: .chunked, name: "chunk size signed", input: "-5\r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(codec: .streamed, name: "streamed chunk 2^31", input: "80000000\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed chunk 2^31-1", input: "7fffffff\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed chunk 2^32-1", input: "FFFFFFFF\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed chunk 2^32+5", input: "100000005\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed chunk 2^63", input: "8000000000000000\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed chunk 2^64-1", input: "ffffffffffffffff\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed chunk 2^64+5", input: "10000000000000005\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .streamed, name: "streamed chunk 2^68+5", input: "100000000000000005\r\nhello\r\n0\r\n\r\n", expected: "fail 413"),
        .init(codec: .streamed, name: "streamed chunk 2^32+5 with ext", input: "100000005;a=b\r\nhello\r\n0\r\n\r\n", expected: "incomplete"),
        .init(codec: .streamed, name: "streamed second chunk pushes over", input: "3fff\r\n", expected: "incomplete"),
        .init(
            codec: .streamed, name: "streamed chunk 5 leading zeros", input: "000000000000000000000005\r\nhello\r\n0\r\n\r\n", expected: "ok body:hello used:38"
        ),
        .init(
            codec: .streamed, name: "streamed last chunk leading zeros", input: "5\r\nhello\r\n00000000000000000000\r\n\r\n", expected: "ok body:hello used:34"),
        .init(
            codec: .streamed, name: "streamed plain chunks", input: "5;x=1\r\nhello\r\n7\r\n, world\r\n0\r\nT: v\r\n\r\n",
            expected: "ok body:hello, world used:37"),
        .init(codec: .streamed, name: "streamed junk after chunk size", input: "5 junk\r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(codec: .streamed, name: "streamed space after chunk size", input: "5 \r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(codec: .streamed, name: "streamed BWS before extension", input: "5 \t;a=b\r\nhello\r\n0\r\n\r\n", expected: "ok body:hello used:21"),
        .init(codec: .streamed, name: "streamed trailer without colon", input: "5\r\nhello\r\n0\r\nNoColon\r\n\r\n", expected: "fail 400"),
        .init(codec: .streamed, name: "streamed trailer with empty name", input: "5\r\nhello\r\n0\r\n: v\r\n\r\n", expected: "fail 400"),
        .init(codec: .streamed, name: "streamed chunk size not hex", input: "0x5\r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        .init(codec: .streamed, name: "streamed chunk size signed", input: "-5\r\nhello\r\n0\r\n\r\n", expected: "fail 400"),
        // WebSocket client frames: every length form, the 63-bit limit, masks, the rules.
        .init(
            codec: .wsFrame, name: "masked text 'Hello'", input: "81 85 37 7A 21 3D 7F 1F 4D 51 58",
            expected: "ok fin:1 op:1 head:6 len:5 data:Hello"),
        .init(codec: .wsFrame, name: "7-bit length 125", input: "82 FD 00 00 00 00", expected: "ok fin:1 op:2 head:6 len:125"),
        .init(codec: .wsFrame, name: "16-bit length 126", input: "82 FE 00 7E 00 00 00 00", expected: "ok fin:1 op:2 head:8 len:126"),
        .init(codec: .wsFrame, name: "16-bit length 65535", input: "82 FE FF FF 00 00 00 00", expected: "ok fin:1 op:2 head:8 len:65535"),
        .init(
            codec: .wsFrame, name: "64-bit length 65536", input: "82 FF 00 00 00 00 00 01 00 00 00 00 00 00",
            expected: "ok fin:1 op:2 head:14 len:65536"),
        .init(
            codec: .wsFrame, name: "64-bit length 2^31", input: "82 FF 00 00 00 00 80 00 00 00 00 00 00 00",
            expected: "ok fin:1 op:2 head:14 len:2147483648"),
        .init(
            codec: .wsFrame, name: "64-bit length 2^32+5", input: "82 FF 00 00 00 01 00 00 00 05 00 00 00 00",
            expected: "ok fin:1 op:2 head:14 len:4294967301"),
        .init(
            codec: .wsFrame, name: "64-bit length 2^63-1", input: "82 FF 7F FF FF FF FF FF FF FF 00 00 00 00",
            expected: "ok fin:1 op:2 head:14 len:9223372036854775807"),
        .init(
            codec: .wsFrame, name: "64-bit length 2^63 (top bit)", input: "82 FF 80 00 00 00 00 00 00 00 00 00 00 00",
            expected: "fail 1002"),
        .init(codec: .wsFrame, name: "unmasked client frame", input: "81 02 68 69", expected: "fail 1002"),
        .init(codec: .wsFrame, name: "RSV1", input: "C1 80 00 00 00 00", expected: "fail 1002"),
        .init(codec: .wsFrame, name: "reserved opcode 3", input: "83 80 00 00 00 00", expected: "fail 1002"),
        .init(codec: .wsFrame, name: "reserved opcode 15", input: "8F 80 00 00 00 00", expected: "fail 1002"),
        .init(codec: .wsFrame, name: "ping of 125", input: "89 FD 00 00 00 00", expected: "ok fin:1 op:9 head:6 len:125"),
        .init(codec: .wsFrame, name: "ping of 126", input: "89 FE 00 7E 00 00 00 00", expected: "fail 1002"),
        .init(codec: .wsFrame, name: "fragmented close", input: "08 80 00 00 00 00", expected: "fail 1002"),
        .init(codec: .wsFrame, name: "continuation, not final", input: "00 81 01 02 03 04 61", expected: "ok fin:0 op:0 head:6 len:1 data:`"),
        .init(codec: .wsFrame, name: "header cut in the 64-bit length", input: "82 FF 00 00 00", expected: "incomplete"),
        .init(codec: .wsFrame, name: "header cut in the mask", input: "81 85 37 7A", expected: "incomplete"),

        // UTF-8 for text frames, validated as it arrives.
        .init(codec: .utf8, name: "ASCII", input: "48 65 6C 6C 6F", expected: "ok complete"),
        .init(codec: .utf8, name: "2, 3 and 4 bytes", input: "CE BA E1 BD B9 F0 9F 98 80", expected: "ok complete"),
        .init(codec: .utf8, name: "cut inside a character", input: "F0 9F 98", expected: "ok partial"),
        .init(codec: .utf8, name: "overlong 2-byte", input: "C0 AF", expected: "fail"),
        .init(codec: .utf8, name: "overlong 3-byte", input: "E0 80 AF", expected: "fail"),
        .init(codec: .utf8, name: "surrogate U+D800", input: "ED A0 80", expected: "fail"),
        .init(codec: .utf8, name: "U+10FFFF", input: "F4 8F BF BF", expected: "ok complete"),
        .init(codec: .utf8, name: "over U+10FFFF", input: "F4 90 80 80", expected: "fail"),
        .init(codec: .utf8, name: "lone continuation", input: "61 80", expected: "fail"),
        .init(codec: .utf8, name: "F5 lead", input: "F5", expected: "fail"),
        .init(codec: .utf8, name: "fails at once, before the end", input: "E0 80", expected: "fail"),
    ]
}
