/// Anything whose bytes can be lent for the length of a call: the body of `reply`,
/// `send` and `wakeup`. Used as a generic (`some ByteSource`), never as an existential,
/// so it costs nothing in Embedded Swift. `body` may throw a typed error.
public protocol ByteSource {
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R
}

/// Runs a typed-throwing `body` inside a stdlib closure that only `rethrows` (which
/// Embedded Swift cannot carry a typed error through): the error rides out in a Result.
@inline(__always)
func capture<R, E: Error>(
    _ body: (UnsafeRawBufferPointer) throws(E) -> R,
    _ bytes: UnsafeRawBufferPointer
) -> Result<R, E> {
    do throws(E) {
        return .success(try body(bytes))
    } catch {
        return .failure(error)
    }
}

extension ByteView: ByteSource {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(buffer)
    }
}

extension StaticString: ByteSource {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(rawBuffer)
    }
}

extension String: ByteSource {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = self
        return try copy.withUTF8 { capture(body, UnsafeRawBufferPointer($0)) }.get()
    }
}

extension Substring: ByteSource {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = self
        return try copy.withUTF8 { capture(body, UnsafeRawBufferPointer($0)) }.get()
    }
}

extension Array: ByteSource where Element == UInt8 {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { capture(body, $0) }.get()
    }
}

extension ArraySlice: ByteSource where Element == UInt8 {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { capture(body, $0) }.get()
    }
}

extension UnsafeRawBufferPointer: ByteSource {
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(self)
    }
}
