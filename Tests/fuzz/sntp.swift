// libFuzzer target: SNTP answers (`SntpPacket.parse`). Input as the codec vectors': an
// 8-byte cookie, a 2-byte round trip in ms, then the server's packet. A time taken must
// be the server's transmit time plus at most half the round trip, never before 1970; an
// answer that does not echo the cookie is never taken.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    _ = CodecVectors.sntpAnswer(input)
    guard size >= 10 + SntpPacket.size else { return 0 }
    var cookie: UInt64 = 0
    for k in 0..<8 { cookie = cookie << 8 | UInt64(data[k]) }
    let roundTrip = Int64(data[8]) << 8 | Int64(data[9])
    let packet = UnsafeRawBufferPointer(rebasing: input[10...])
    var originate: UInt64 = 0
    for k in 24..<32 { originate = originate << 8 | UInt64(packet[k]) }
    check(SntpPacket.parse(packet, cookie: originate &+ 1, roundTripMs: roundTrip) == .invalid, "an answer taken without its cookie")
    guard case let .time(ms) = SntpPacket.parse(packet, cookie: cookie, roundTripMs: roundTrip) else { return 0 }
    var sent: UInt64 = 0
    for k in 40..<48 { sent = sent << 8 | UInt64(packet[k]) }
    guard let server = SntpPacket.unixMs(sent) else { fatalError("a time taken from a transmit time before 1970") }
    check(ms >= server && ms - server <= roundTrip / 2, "time \(ms) for a server time of \(server), round trip \(roundTrip)")
    return 0
}
