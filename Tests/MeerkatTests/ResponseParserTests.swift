import Testing

@testable import Meerkat

/// The client's response-head parser beyond the shared vectors: inputs too long to
/// spell as a vector.
struct ResponseParserTests {
    func parse(_ text: String) -> ResponseResult {
        var bytes = Array(text.utf8)
        var fields = [HeaderField](repeating: HeaderField(), count: 16)
        return bytes.withUnsafeMutableBytes { buf in
            fields.withUnsafeMutableBufferPointer { HttpResponseParser.parseHead(UnsafeRawBufferPointer(buf), fields: $0, requestWasHead: false) }
        }
    }

    @Test func statusLineOver4KiBFailsWholeOrCut() {
        let line = "HTTP/1.1 200 " + String(repeating: "x", count: 4100)
        #expect(parse(line) == .failed)
        #expect(parse(line + "\r\nContent-Length: 0\r\n\r\n") == .failed)
        if case .complete = parse("HTTP/1.1 200 " + String(repeating: "x", count: 4000) + "\r\nContent-Length: 0\r\n\r\n") {
        } else {
            Issue.record("a 4 KiB status line is refused")
        }
    }
}
