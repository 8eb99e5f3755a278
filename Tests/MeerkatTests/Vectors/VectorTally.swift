// The tally both vector tables (CryptoVectors, LoopVectors) keep: a check compares the
// answer's text with the expected one, counts it, and reports a wrong one.
enum VectorTally {
    typealias Check = (StaticString, String, StaticString) -> Void

    static func run(_ report: Check, _ checks: (Check) -> Void) -> (passed: Int, failed: Int) {
        var passed = 0, failed = 0
        func check(_ name: StaticString, _ got: String, _ expected: StaticString) {
            if got.utf8.elementsEqual(UnsafeBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount)) {
                passed += 1
            } else {
                failed += 1
                report(name, got, expected)
            }
        }
        // `checks` only calls `check` while it runs; the compiler cannot see that a
        // non-escaping closure passed to another one does not re-enter it.
        withoutActuallyEscaping(checks) { $0(check) }
        return (passed, failed)
    }
}
