// libFuzzer target: DNS answers (`DnsMessage.parseAnswer`) to a query for example.com.
// Input: one byte (bit 0: ask AAAA rather than A; the rest chooses a cut), then the
// datagram, whose ID is taken as the query's so the fuzzer reaches past the ID check.
// Every address taken must be a record's data in the packet; reading the datagram as cut
// may change only an answer that ran off its end; and the datagram's start read as cut
// finds a prefix of the addresses the whole one finds.
@testable import Meerkat

let name: StaticString = "example.com"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let packet = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let type = data[0] & 1 == 0 ? DnsMessage.typeA : DnsMessage.typeAAAA
    let addressSize = type == DnsMessage.typeA ? 4 : 16
    _ = CodecVectors.dnsAnswer(packet)
    let whole = Addresses(), cut = Addresses(), part = Addresses()
    let answer = whole.read(packet, type: type, cut: false)
    let asCut = cut.read(packet, type: type, cut: true)
    if answer.summary != asCut.summary {
        check(answer.summary.hasPrefix("ignored: record"), "cut changes \(answer.summary) into \(asCut.summary)")
    }
    guard case let .addresses(count) = answer else { return 0 }
    check(count >= 1 && count <= DnsMessage.maxAddresses)
    for k in 0..<count {
        check(whole.bytes[k * 16 + addressSize..<k * 16 + 16].allSatisfy { $0 == 0 }, "address \(k) not zero-padded")
        check(contains(packet, whole.bytes[k * 16..<k * 16 + addressSize]), "address \(k) is not in the packet")
    }
    let length = 12 + Int(data[0] >> 1) * (packet.count - 12) / 127
    if case let .addresses(found) = part.read(UnsafeRawBufferPointer(rebasing: packet[0..<length]), type: type, cut: true) {
        check(found <= count && part.bytes[0..<found * 16].elementsEqual(whole.bytes[0..<found * 16]), "a cut finds other addresses")
    }
    return 0
}

/// Room for the addresses one answer keeps, and the reading that fills it.
final class Addresses {
    var bytes = [UInt8](repeating: 0xEE, count: DnsMessage.maxAddresses * 16)

    func read(_ packet: UnsafeRawBufferPointer, type: UInt16, cut: Bool) -> DnsMessage.Answer {
        let id = UInt16(packet[0]) << 8 | UInt16(packet[1])
        return bytes.withUnsafeMutableBytes {
            DnsMessage.parseAnswer(packet, id: id, name: ByteView(name.rawBuffer), type: type, addresses: $0, cut: cut)
        }
    }
}

func contains(_ packet: UnsafeRawBufferPointer, _ needle: ArraySlice<UInt8>) -> Bool {
    guard packet.count >= needle.count else { return false }
    for at in 0...(packet.count - needle.count) where packet[at..<at + needle.count].elementsEqual(needle) { return true }
    return false
}
