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
}
