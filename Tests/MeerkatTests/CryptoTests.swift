import Testing
@testable import Meerkat

/// The crypto and encoding helpers against published vectors (Vectors/CryptoVectors.swift,
/// which `make codec-vectors` also runs on every board), and the parts that are not
/// vectors: random bytes, buffers too small.
@Suite struct CryptoTests {
    @Test func everyVectorGivesItsAnswer() {
        let result = CryptoVectors.run { name, got, expected in Issue.record("\(name): got \(got), expected \(expected)") }
        #expect(result.failed == 0)
        #expect(result.passed >= 70)
    }

    @Test func randomBytesDifferAndFillTheBuffer() throws {
        var limits = Limits()
        limits.maxConnections = 2
        limits.rejectSlots = 1
        limits.recvBuffers = 4
        limits.sendBuffers = 4
        let manager = Manager(limits: limits) { _, _ in }
        defer { manager.close() }
        let a = try #require(manager.random(count: 32)), b = try #require(manager.random(count: 32))
        #expect(a.count == 32 && a != b && a != [UInt8](repeating: 0, count: 32))
        var buf = [UInt8](repeating: 0, count: 1000)
        #expect(buf.withUnsafeMutableBytes { manager.random(into: $0) })
        #expect(Set(buf).count > 200)  // 1000 random bytes show most byte values
        #expect(manager.random(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)))
    }

    @Test func hexRoundTripsAndRefusesWhatIsNotHex() {
        let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xAB, 0xFF]
        #expect(Crypto.unhex(Crypto.hex(bytes)) == bytes)
        #expect(Crypto.unhex("00017F80ABFF") == bytes)
        #expect(Crypto.unhex("") == [])
        #expect(Crypto.unhex("abc") == nil && Crypto.unhex("zz") == nil && Crypto.unhex("0g") == nil)
        var out = [UInt8](repeating: 0, count: 2)
        #expect(out.withUnsafeMutableBytes { Crypto.unhex(StaticString("a1b2c3").rawBuffer, into: $0) } == nil)
    }

    @Test func encodeRefusesAShortBuffer() {
        var out = [UInt8](repeating: 0, count: 7)
        let n = out.withUnsafeMutableBytes { Base64.encode(StaticString("foobar").rawBuffer, into: $0) }
        #expect(n == nil)
        #expect(Base64.encodedCount(6) == 8 && Base64.encodedCount(5, padded: false) == 7)
    }

    @Test func everyByteStringRoundTripsThroughBothAlphabets() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            for alphabet in [Base64.Alphabet.standard, .url] {
                #expect(Base64.decode(Base64.encode(bytes, alphabet: alphabet), alphabet: alphabet) == bytes)
            }
        }
    }

}
