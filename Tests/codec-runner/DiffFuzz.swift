/// A seeded mutation fuzzer over the pure HTTP codecs. Its PRNG and mutations use only
/// fixed-width arithmetic, so every board builds the same inputs from the same seed;
/// it prints one answer line per input, and `make diff-fuzz` compares the boards'
/// transcripts byte for byte.
enum DiffFuzz {
    /// SplitMix64: the same sequence on every word size.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// 0..<n, for a small positive n.
        mutating func below(_ n: Int) -> Int { Int(truncatingIfNeeded: next() % UInt64(n)) }
    }

    /// Numbers near the widths that matter: 2^31, 2^32, 2^63, 2^64, in decimal and hex.
    static let numbers: [StaticString] = [
        "2147483647", "2147483648", "4294967295", "4294967296", "4294967301", "3000000000",
        "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "18446744073709551621", "99999999999", "0", "000000000000000000005",
        "7fffffff", "80000000", "FFFFFFFF", "100000000", "100000005", "7fffffffffffffff",
        "8000000000000000", "ffffffffffffffff", "10000000000000000", "10000000000000005",
    ]
    static let interesting: StaticString = "0123456789abcdefABCDEF\r\n :;\t-+x=,\u{7F}~"
    static let chunkedHead: StaticString = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    static let maxInput = 1024

    static func run(seed: UInt64, count: Int) {
        var rng = Random(state: seed)
        var seeds: [[UInt8]] = []
        for v in CodecVectors.all {
            var bytes: [UInt8] = []
            if v.codec == .chunked { bytes.append(contentsOf: UnsafeBufferPointer(start: chunkedHead.utf8Start, count: chunkedHead.utf8CodeUnitCount)) }
            bytes.append(contentsOf: v.bytes)
            seeds.append(bytes)
        }
        for i in 0..<count {
            var input = seeds[rng.below(seeds.count)]
            let rounds = 1 + rng.below(4)
            for _ in 0..<rounds { mutate(&input, &rng, seeds) }
            print("\(i) \(answers(input))")
        }
    }

    /// The head parser's answer; for a chunked head, the decoder's and the streaming
    /// decoder's on what follows; and the chunked decoder's, the WebSocket frame codec's
    /// the UTF-8 validator's, the response parser's, the DNS answer's, the static path's,
    /// the byte range's, the HTTP date's, the multipart reader's, the MQTT parser's and
    /// the JSON path lookup's on the whole input.
    static func answers(_ input: [UInt8]) -> String {
        input.withUnsafeBytes { raw in
            var text = CodecVectors.headAnswer(raw, fieldSum: true)
            if let p = raw.baseAddress {
                if text.utf8.starts(with: "ok chunked".utf8), let end = headLength(raw) {
                    let body = p.assumingMemoryBound(to: UInt8.self) + end
                    text += " | " + CodecVectors.answer(.chunked, body, raw.count - end)
                    text += " | " + CodecVectors.answer(.streamed, body, raw.count - end)
                }
                let whole = p.assumingMemoryBound(to: UInt8.self)
                text += " | " + CodecVectors.answer(.chunked, whole, raw.count)
                text += " | " + CodecVectors.answer(.wsFrame, whole, raw.count)
                text += " | " + CodecVectors.answer(.utf8, whole, raw.count)
                text += " | " + CodecVectors.answer(.response, whole, raw.count)
                text += " | " + CodecVectors.answer(.dnsA, whole, raw.count)
                text += " | " + CodecVectors.answer(.staticPath, whole, raw.count)
                text += " | " + CodecVectors.answer(.range, whole, raw.count)
                text += " | " + CodecVectors.answer(.httpDate, whole, raw.count)
                text += " | " + CodecVectors.answer(.multipart, whole, raw.count)
                text += " | " + CodecVectors.answer(.mqtt, whole, raw.count)
                text += " | " + CodecVectors.answer(.jsonPath, whole, raw.count)
            }
            return text
        }
    }

    static func headLength(_ raw: UnsafeRawBufferPointer) -> Int? {
        let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
        defer { fields.deallocate() }
        fields.initialize(repeating: HeaderField())
        if case let .complete(h) = HttpParser.parseHead(raw, fields: fields, maxURILength: 256) { return h.length }
        return nil
    }

    static func mutate(_ b: inout [UInt8], _ rng: inout Random, _ seeds: [[UInt8]]) {
        let at = b.isEmpty ? 0 : rng.below(b.count)
        switch rng.below(9) {
        case 0 where !b.isEmpty:
            b[at] = UInt8(truncatingIfNeeded: rng.next())
        case 1 where !b.isEmpty:
            b[at] = interesting.utf8Start[rng.below(interesting.utf8CodeUnitCount)]
        case 2:
            b.insert(interesting.utf8Start[rng.below(interesting.utf8CodeUnitCount)], at: at)
        case 3 where !b.isEmpty:
            b.removeSubrange(at..<min(b.count, at + 1 + rng.below(8)))
        case 4:
            b.insert(contentsOf: token(&rng), at: at)
        case 5 where !b.isEmpty:
            // Replace the run of hex digits around `at` with a number from the list.
            var lo = at, hi = at
            while lo > 0 && ASCII.hexValue(b[lo - 1]) != nil { lo -= 1 }
            while hi < b.count && ASCII.hexValue(b[hi]) != nil { hi += 1 }
            b.replaceSubrange(lo..<hi, with: token(&rng))
        case 6 where !b.isEmpty:
            let len = min(b.count - at, 1 + rng.below(32))
            let piece = Array(b[at..<(at + len)])
            b.insert(contentsOf: piece, at: rng.below(b.count))
        case 7:
            let other = seeds[rng.below(seeds.count)]
            b = Array(b[0..<at]) + Array(other[min(at, other.count)...])
        default:
            if !b.isEmpty { b.removeSubrange(rng.below(b.count)...) }
        }
        if b.count > maxInput { b.removeSubrange(maxInput...) }
    }

    static func token(_ rng: inout Random) -> [UInt8] {
        let t = numbers[rng.below(numbers.count)]
        return Array(UnsafeBufferPointer(start: t.utf8Start, count: t.utf8CodeUnitCount))
    }
}
