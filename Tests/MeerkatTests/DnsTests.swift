import Testing
@testable import Meerkat

/// The DNS message codec and the resolver's files, without sockets: well-formed answers,
/// and the hostile ones a resolver must ignore or refuse (issue 11).
@Suite struct DnsTests {
    /// Builds packets: header fields, then raw bytes appended as the test wants them.
    struct Packet {
        var bytes: [UInt8] = []

        init(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, questions: UInt16 = 1, answers: UInt16) {
            for v in [id, flags, questions, answers, 0, 0] { u16(v) }
        }

        mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        mutating func name(_ dotted: String) {
            for label in dotted.split(separator: ".") {
                bytes.append(UInt8(label.utf8.count))
                bytes += Array(label.utf8)
            }
            bytes.append(0)
        }
        mutating func question(_ dotted: String = "example.com", type: UInt16 = 1) {
            name(dotted)
            u16(type)
            u16(1)
        }
        /// A record whose owner is a pointer to `owner`, with `data`.
        mutating func record(owner: UInt16 = 12, type: UInt16 = 1, data: [UInt8]) {
            u16(0xC000 | owner)
            u16(type)
            u16(1)
            bytes += [0, 0, 0x0E, 0x10]  // TTL
            u16(UInt16(data.count))
            bytes += data
        }
    }

    func answer(_ p: Packet, name: String = "example.com", type: UInt16 = 1) -> (String, [UInt8]) {
        var addresses = [UInt8](repeating: 0, count: 64)
        var name = name
        let result = name.withUTF8 { n in
            p.bytes.withUnsafeBytes { packet in
                addresses.withUnsafeMutableBytes { out in
                    DnsMessage.parseAnswer(
                        packet, id: 0x1234, name: ByteView(UnsafeRawBufferPointer(n)), type: type,
                        addresses: out)
                }
            }
        }
        return (result.summary, addresses)
    }

    @Test func aQueryIsWrittenAsRFC1035Says() {
        var out = [UInt8](repeating: 0, count: 512)
        var name = "Board-7.example.com."
        let n = name.withUTF8 { text in
            out.withUnsafeMutableBytes {
                DnsMessage.writeQuery(id: 0xBEEF, name: ByteView(UnsafeRawBufferPointer(text)), type: DnsMessage.typeAAAA, into: $0)
            }
        }
        var expected: [UInt8] = [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        expected += [7] + Array("Board-7".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 28, 0, 1]
        #expect(n == expected.count)
        #expect(Array(out.prefix(n ?? 0)) == expected)
    }

    @Test func badNamesAreNotQueried() {
        var out = [UInt8](repeating: 0, count: 512)
        for bad in [
            "", ".", "a..b", String(repeating: "x", count: 64) + ".com", "sp ace.com", "semi;colon.com",
            (0..<60).map { _ in "abcd" }.joined(separator: "."),
        ] {
            var name = bad
            let n = name.withUTF8 { text in
                out.withUnsafeMutableBytes {
                    DnsMessage.writeQuery(id: 1, name: ByteView(UnsafeRawBufferPointer(text)), type: 1, into: $0)
                }
            }
            #expect(n == nil, "\(bad)")
        }
    }

    @Test func aAndAAAAAnswersGiveTheirAddresses() {
        var p = Packet(answers: 2)
        p.question()
        p.record(data: [192, 0, 2, 7])
        p.record(data: [198, 51, 100, 9])
        let (summary, addresses) = answer(p)
        #expect(summary == "addresses 2")
        #expect(Array(addresses[0..<4]) == [192, 0, 2, 7])
        #expect(Array(addresses[16..<20]) == [198, 51, 100, 9])

        var six = Packet(answers: 1)
        six.question(type: 28)
        six.record(type: 28, data: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
        let (s6, a6) = answer(six, type: 28)
        #expect(s6 == "addresses 1")
        #expect(a6[0] == 0x20 && a6[15] == 1)
    }

    @Test func aCNAMEChainIsFollowedWithinTheAnswer() {
        var p = Packet(answers: 3)
        p.question("www.example.com")
        // www → CNAME edge.example.net; an A for another owner (ignored); the A of edge.
        p.record(type: 5, data: [4] + Array("edge".utf8) + [7] + Array("example".utf8) + [3] + Array("net".utf8) + [0])
        p.record(owner: 12 + 4, data: [10, 0, 0, 1])  // owner "example.com" (inside the question)
        let edge = UInt16(12 + 17 + 4 + 12)  // the CNAME's rdata: header, question, record head
        p.record(owner: edge, data: [203, 0, 113, 5])
        let (summary, addresses) = answer(p, name: "www.example.com")
        #expect(summary == "addresses 1")
        #expect(Array(addresses[0..<4]) == [203, 0, 113, 5])
    }

    @Test func nxdomainNodataAndServerErrors() {
        var nx = Packet(flags: 0x8183, answers: 0)
        nx.question()
        #expect(answer(nx).0 == "nxdomain")
        var empty = Packet(answers: 0)
        empty.question()
        #expect(answer(empty).0 == "nodata")
        var servfail = Packet(flags: 0x8182, answers: 0)
        servfail.question()
        #expect(answer(servfail).0 == "failed: server error")
        var truncated = Packet(flags: 0x8380, answers: 0)
        truncated.question()
        #expect(answer(truncated).0 == "failed: truncated answer")
    }

    @Test func spoofedOrForeignAnswersAreIgnored() {
        var wrongID = Packet(id: 0x4321, answers: 1)
        wrongID.question()
        wrongID.record(data: [6, 6, 6, 6])
        #expect(answer(wrongID).0 == "ignored: another ID")
        var query = Packet(flags: 0x0100, answers: 0)
        query.question()
        #expect(answer(query).0 == "ignored: not a response")
        var otherName = Packet(answers: 1)
        otherName.question("evil.example")
        otherName.record(data: [6, 6, 6, 6])
        #expect(answer(otherName).0 == "ignored: another question")
        var otherType = Packet(answers: 0)
        otherType.question(type: 28)
        #expect(answer(otherType).0 == "ignored: another question")
        var twoQuestions = Packet(questions: 2, answers: 0)
        twoQuestions.question()
        twoQuestions.question()
        #expect(answer(twoQuestions).0 == "ignored: not one question")
        #expect(answer(Packet(answers: 0)).0 == "ignored: another question")  // header only
    }

    @Test func hostilePacketsAreIgnored() {
        // A compression pointer to itself, one forward, one past the end.
        for target: UInt16 in [12 + 17, 200, 0x3FFF] {
            var p = Packet(answers: 1)
            p.question()
            p.u16(0xC000 | target)  // the record's owner: a pointer at offset 29
            p.u16(1); p.u16(1); p.bytes += [0, 0, 0, 1]; p.u16(4); p.bytes += [1, 2, 3, 4]
            #expect(answer(p).0 == "ignored: record outside the packet", "pointer to \(target)")
        }
        // Two pointers that point at each other (a loop through earlier bytes).
        var loop = Packet(answers: 1)
        loop.question()
        let a = UInt16(loop.bytes.count)
        loop.u16(0xC000 | (a + 2))  // → the next pointer (forward: refused)
        loop.u16(0xC000 | a)  // → back to the first
        loop.u16(1); loop.u16(1); loop.bytes += [0, 0, 0, 1]; loop.u16(4); loop.bytes += [1, 2, 3, 4]
        #expect(answer(loop).0.hasPrefix("ignored"))
        // A backward loop: a CNAME target "x" followed by a pointer to its own start.
        var back = Packet(answers: 1)
        back.question()
        let rdata = UInt16(back.bytes.count + 12)
        back.record(type: 5, data: [1, UInt8(ascii: "x"), 0xC0, UInt8(rdata)])
        #expect(answer(back).0 == "ignored: bad CNAME")
        // Data longer than the packet; a record cut short; an A of 5 bytes.
        var long = Packet(answers: 1)
        long.question()
        long.record(data: [1, 2, 3, 4])
        long.bytes[long.bytes.count - 6] = 0x10  // rdlength 4 → 4100
        #expect(answer(long).0 == "ignored: record data outside the packet")
        var cut = Packet(answers: 1)
        cut.question()
        cut.record(data: [1, 2, 3, 4])
        cut.bytes.removeLast(7)
        #expect(answer(cut).0.hasPrefix("ignored"))
        var odd = Packet(answers: 1)
        odd.question()
        odd.record(data: [1, 2, 3, 4, 5])
        #expect(answer(odd).0 == "ignored: bad address length")
        // Label types 0x40/0x80, and a name over 255 bytes.
        var label = Packet(answers: 0)
        label.bytes += [0x41, 0]
        #expect(answer(label).0 == "ignored: another question")
        var huge = Packet(answers: 0)
        for _ in 0..<5 { huge.bytes += [63] + [UInt8](repeating: 0x61, count: 63) }
        huge.bytes += [0, 0, 1, 0, 1]
        #expect(answer(huge).0 == "ignored: another question")
        // More answers announced than present.
        var missing = Packet(answers: 5)
        missing.question()
        missing.record(data: [1, 2, 3, 4])
        #expect(answer(missing).0 == "ignored: record outside the packet")
    }

    @Test func theResolverFilesAreRead() {
        func view(_ s: StaticString) -> ByteView { ByteView(s.rawBuffer) }
        let hosts: StaticString = """
            # comment line
            127.0.0.1\tlocalhost
            ::1     localhost ip6-localhost   # trailing comment
            10.0.0.5 board-7.lan board-7
            """
        #expect(ResolverFiles.hostsLookup(view(hosts), name: view("BOARD-7"), ipv6: false) == "10.0.0.5")
        #expect(ResolverFiles.hostsLookup(view(hosts), name: view("localhost"), ipv6: true) == "::1")
        #expect(ResolverFiles.hostsLookup(view(hosts), name: view("nowhere"), ipv6: false) == nil)
        let conf: StaticString = "; generated\nsearch lan\nnameserver 192.168.1.1\nnameserver 8.8.8.8\n"
        #expect(ResolverFiles.nameserver(view(conf)) == "192.168.1.1")
        #expect(ResolverFiles.nameserver(view("search lan\n")) == nil)
    }
}
