import Testing
@testable import Meerkat

/// The loop's pure parts (Vectors/LoopVectors.swift: the timer heap with 10,000 timers,
/// the log ring, the hex dump line), which `make codec-vectors` also runs on every board.
@Suite struct LoopVectorTests {
    @Test func everyCheckGivesItsAnswer() {
        let result = LoopVectors.run { name, got, expected in Issue.record("\(name): got \(got), expected \(expected)") }
        #expect(result.failed == 0)
        #expect(result.passed >= 15)
    }
}
