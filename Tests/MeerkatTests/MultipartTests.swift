import Testing
@testable import Meerkat

/// The multipart/form-data reader, fed whole and in every split: the same parts, the
/// same bytes, whatever the pieces.
@Suite struct MultipartTests {
    static let type = "multipart/form-data; boundary=----XyZ"
    static let body =
        "preamble\r\n------XyZ\r\n"
        + "Content-Disposition: form-data; name=\"device\"\r\n\r\n"
        + "kitchen\r\n------XyZ\r\n"
        + "Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        + "line one\r\n--not the boundary\r\n------Xy almost\r\n------XyZ--\r\nepilogue"

    /// Feeds `body` in pieces of `size` bytes; the events as text, and whether it ended well.
    func read(_ body: String, type: String = MultipartTests.type, size: Int) -> (String, Bool) {
        var out = ""
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
        defer { scratch.deallocate() }
        var typeBytes = Array(type.utf8)
        let bytes = Array(body.utf8)
        return typeBytes.withUnsafeMutableBytes { t in
            guard var reader = MultipartReader(contentType: ByteView(UnsafeRawBufferPointer(t)), scratch: scratch) else {
                return ("not multipart", false)
            }
            var data = ""
            var ok = true
            bytes.withUnsafeBytes { all in
                var at = 0
                while at < all.count && ok {
                    let piece = ByteView(UnsafeRawBufferPointer(rebasing: all[at..<min(at + size, all.count)]))
                    ok = reader.feed(piece) { ev in
                        switch ev {
                        case let .part(name, filename, contentType):
                            out += "[\(name.string)|\(filename.string)|\(contentType.string)]"
                        case let .data(v): data += v.string
                        case .partEnd:
                            out += "{\(data)}"
                            data = ""
                        }
                    }
                    at += size
                }
            }
            return (out, ok && reader.finish())
        }
    }

    @Test func partsAreTheSameForEverySplit() {
        let expected = "[device||]{kitchen}[file|a b.txt|text/plain]{line one\r\n--not the boundary\r\n------Xy almost}"
        for size in 1...MultipartTests.body.utf8.count {
            let (got, ok) = read(MultipartTests.body, size: size)
            #expect(ok, "split \(size)")
            #expect(got == expected, "split \(size)")
        }
    }

    @Test func aQuotedBoundaryAndPaddingAfterTheDelimiter() {
        let body = "--b\t \r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--"
        let (got, ok) = read(body, type: "Multipart/Form-Data; charset=utf-8; boundary=\"b\"", size: 3)
        #expect(ok && got == "[x||]{1}")
    }

    @Test func badBodiesAreRefused() {
        // No final delimiter.
        #expect(read("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b\r\n", type: "multipart/form-data; boundary=b", size: 5).1 == false)
        // Garbage after a delimiter.
        #expect(read("--bX\r\n\r\n", type: "multipart/form-data; boundary=b", size: 5).1 == false)
        // A header line without a colon.
        #expect(read("--b\r\nnot a header\r\n\r\n1\r\n--b--", type: "multipart/form-data; boundary=b", size: 5).1 == false)
        // A header block larger than the scratch (256 bytes).
        let long = "--b\r\nX-Long: " + String(repeating: "a", count: 300) + "\r\n\r\n1\r\n--b--"
        #expect(read(long, type: "multipart/form-data; boundary=b", size: 64).1 == false)
        // Boundaries that RFC 2046 does not allow, and other types.
        #expect(read("", type: "multipart/form-data; boundary=", size: 1).0 == "not multipart")
        #expect(read("", type: "multipart/form-data; boundary=" + String(repeating: "b", count: 71), size: 1).0 == "not multipart")
        #expect(read("", type: "multipart/form-data; boundary=a{b", size: 1).0 == "not multipart")
        #expect(read("", type: "application/x-www-form-urlencoded", size: 1).0 == "not multipart")
    }
}

/// application/x-www-form-urlencoded bodies, pair by pair.
@Suite struct FormPairsTests {
    @Test func everyPairDecodedInOrder() {
        var got: [String] = []
        URLEncoding.forEachPair(in: "name=Kitchen+sensor&empty=&flag&bad=%zz&x%26y=1%2B1") { name, value in
            got.append(name + "=" + value)
            return true
        }
        #expect(got == ["name=Kitchen sensor", "empty=", "flag=", "x&y=1+1"])
        var first: [String] = []
        URLEncoding.forEachPair(in: "a=1&b=2") { name, _ in
            first.append(name)
            return false
        }
        #expect(first == ["a"])
    }
}
