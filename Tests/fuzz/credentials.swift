// libFuzzer target: credentials a request offers (`HttpMessage.credentials`: Basic,
// Bearer, the session cookie, `access_token`), read from a request head. Every token
// must lie inside the request and be a b64token; a Basic user has no ':' and neither it
// nor the password holds a control byte, and "user:password" encodes back to exactly
// the base64 sent (strict decoding: one spelling per value).
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
    defer { fields.deallocate() }
    fields.initialize(repeating: HeaderField())
    guard case let .complete(head) = HttpParser.parseHead(input, fields: fields, maxURILength: 4096) else { return 0 }
    let message = HttpMessage(base: data, head: head, fields: UnsafeBufferPointer(fields), body: .empty)
    if let cookie = message.cookieValue("session") { check(inside(cookie, data, head.length), "a cookie outside the request") }
    let room = Int(data[size - 1]) + 1  // the buffer lent: its size is the fuzzer's too
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: room, alignment: 1)
    defer { buffer.deallocate() }
    let credentials = message.credentials(cookie: "session", into: buffer)
    switch credentials {
    case let .basic(user, password):
        check(user.firstIndex(of: UInt8(ascii: ":")) == nil, "a ':' in the user")
        for c in user.buffer { check(c >= 0x20 && c != 0x7F, "a control byte in the user") }
        for c in password.buffer { check(c >= 0x20 && c != 0x7F, "a control byte in the password") }
        let plain = Array(user.buffer) + [UInt8(ascii: ":")] + Array(password.buffer)
        let sent = message.header("Authorization")!.trimmingSpaces()
        let value = sent.slice(6, sent.count).trimmingSpaces()
        check(plain.withUnsafeBytes { Base64.encode(ByteView($0)) } == value.string, "Basic does not encode back to what was sent")
    case let .bearer(t), let .cookie(t), let .accessToken(t):
        check(inside(t, data, head.length) && HttpAuth.isToken(t.buffer), "a token outside the request, or not a token")
    case .none, .invalid:
        break
    }
    return 0
}

func inside(_ v: ByteView, _ data: UnsafePointer<UInt8>, _ size: Int) -> Bool {
    guard let base = v.buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return v.count == 0 }
    return base >= data && base + v.count <= data + size
}
