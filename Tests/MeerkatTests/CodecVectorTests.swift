import Testing
@testable import Meerkat

/// The shared codec vectors (Vectors/CodecVectors.swift) on the host; `make test` runs
/// the same table on every board through the Embedded runner.
@Suite struct CodecVectorTests {
    @Test func everyVectorGivesItsAnswer() {
        let result = CodecVectors.run { vector, got in
            Issue.record("\(vector.name): got \(got), expected \(vector.expected)")
        }
        #expect(result.failed == 0)
        #expect(result.passed == CodecVectors.all.count)
    }

    /// The streaming decoder gives the same answer however the bytes arrive.
    @Test func streamedAnswersDoNotDependOnHowBytesArrive() {
        for v in CodecVectors.all where v.codec == .streamed {
            var bytes = Array(UnsafeBufferPointer(start: v.input.utf8Start, count: v.input.utf8CodeUnitCount))
            let whole = bytes.withUnsafeMutableBytes { CodecVectors.streamedAnswer($0) }
            for step in [1, 2, 3, 7] {
                let got = bytes.withUnsafeMutableBytes { CodecVectors.streamedAnswer($0, step: step) }
                #expect(got == whole, "\(v.name), \(step) bytes at a time")
            }
        }
    }
}
