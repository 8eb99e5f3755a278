import Testing
@testable import Meerkat

func decodeChunked(_ text: String, maxBody: Int = 1 << 20) -> (ChunkedDecoder.Result, String) {
    var bytes = Array(text.utf8)
    let result = bytes.withUnsafeMutableBytes { ChunkedDecoder.decode($0, maxBody: maxBody) }
    if case let .complete(n, _) = result {
        return (result, String(decoding: bytes[0..<n], as: UTF8.self))
    }
    return (result, "")
}

@Suite struct ChunkedDecoderTests {
    static let wire = "4\r\nWiki\r\n6;name=value\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT"

    @Test func decodesInPlace() {
        let (result, body) = decodeChunked(Self.wire)
        #expect(body == "Wikipedia in \r\n\r\nchunks.")
        #expect(result == .complete(bodyLength: 24, consumed: Self.wire.utf8.count - 4))
    }

    @Test func everyPrefixIsIncomplete() {
        let bytes = Array(Self.wire.utf8)
        let end = bytes.count - 4
        for cut in 0..<end {
            #expect(decodeChunked(String(decoding: bytes[0..<cut], as: UTF8.self)).0 == .incomplete, "cut \(cut)")
        }
    }

    @Test(arguments: [
        "zz\r\n",  // not hex
        "\r\n",  // no size
        "5\r\nhelloX\r\n",  // data not followed by CRLF
        "5\nhello\r\n0\r\n\r\n",  // bare LF after size
        "3 x\u{1}\r\nabc\r\n",  // control byte in extension
        "0\r\nBad\u{0}trailer\r\n\r\n",
    ])
    func malformed(text: String) {
        #expect(decodeChunked(text).0 == .failed(400))
    }

    @Test func overTheLimitIs413() {
        #expect(decodeChunked("10\r\n0123456789abcdef\r\n0\r\n\r\n", maxBody: 8).0 == .failed(413))
        #expect(decodeChunked("1234567890ABCDEF1\r\n").0 == .failed(413))  // over 64 bits
    }

    @Test func emptyBody() {
        #expect(decodeChunked("0\r\n\r\n").0 == .complete(bodyLength: 0, consumed: 5))
    }
}
