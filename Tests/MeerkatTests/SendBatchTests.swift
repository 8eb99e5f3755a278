import Testing
@testable import Meerkat
import MeerkatTesting

/// Connection.sendBatch: sends gathered in the send block and written together when the
/// batch ends; the same bytes in the same order, whatever the sizes.
@Suite struct SendBatchTests {
    static func channel() throws -> TestChannel { try TestChannel(handler: { _, _ in }) }

    @Test func nothingLeavesUntilTheBatchEndsThenAllInOrder() throws {
        let c = try Self.channel()
        var expected: [UInt8] = []
        var seenInside: [UInt8]? = nil
        c.connection.sendBatch {
            for i in 0..<200 {
                let line = "message \(i)\n"
                try? c.connection.send(line)
                expected += Array(line.utf8)
            }
            seenInside = c.readAll()  // the loop runs; the batch is not written
        }
        #expect(seenInside == [])
        #expect(c.readAll() == expected)
        #expect(c.manager.stats.send.free == c.manager.stats.send.blocks, "the block went back")
    }

    @Test func aBatchLargerThanTheBlockIsWrittenAsItFills() throws {
        let c = try Self.channel()
        let block = c.manager.limits.sendBufferSize
        var expected: [UInt8] = []
        c.connection.sendBatch {
            for i in 0..<(block * 5 / 1000) {
                let piece = [UInt8](repeating: UInt8(i & 0xFF), count: 1000)
                try? c.connection.send(piece)
                expected += piece
            }
        }
        var got: [UInt8] = []
        for _ in 0..<50 where got.count < expected.count { got += c.readAll() }
        #expect(got == expected)
    }

    @Test func aSendTooLargeForTheBlockKeepsItsPlace() throws {
        let c = try Self.channel()
        let big = [UInt8](repeating: 66, count: c.manager.limits.sendBufferSize * 3)
        c.connection.sendBatch {
            try? c.connection.send("a")
            try? c.connection.send(big)  // held where it lives, after "a"
            try? c.connection.send("z")
        }
        var got: [UInt8] = []
        for _ in 0..<50 where got.count < big.count + 2 { got += c.readAll() }
        #expect(got == [97] + big + [122])
    }
}
