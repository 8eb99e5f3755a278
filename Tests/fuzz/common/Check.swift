// What every fuzz target shares. A target's invariants use `check`, not `precondition`:
// an optimised build drops a precondition's message, and a crash found should say which
// invariant broke.

/// Stops the run (libFuzzer keeps the input) when `condition` is false, saying where and why.
func check(_ condition: Bool, _ why: @autoclosure () -> String = "", file: StaticString = #file, line: UInt = #line) {
    if !condition { fatalError("invariant broken: " + why(), file: file, line: line) }
}

/// `answer` over a copy of `bytes`, for the codecs that work in place.
func onCopy(_ bytes: UnsafeRawBufferPointer, _ answer: (UnsafeMutableRawBufferPointer) -> String) -> String {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: bytes)
    return answer(UnsafeMutableRawBufferPointer(rebasing: copy[0..<bytes.count]))
}
