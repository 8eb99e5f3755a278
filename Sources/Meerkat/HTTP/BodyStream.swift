/// A request body taken in pieces (`streamRequestBody()`): a Content-Length counted
/// down, or chunked framing decoded as it arrives, with a few integers of state. Pure:
/// shown the bytes that follow the head, it says what to do with the front of them.
/// Sizes are `UInt64` on every board, so an upload may exceed 4 GiB on a 32-bit one.
struct BodyStream: Equatable {
    enum Phase: UInt8 { case length, chunkSize, chunkData, chunkEnd, trailers, untilClose }

    enum Step: Equatable {
        /// The first n bytes are body data for the handler.
        case data(Int)
        /// The first n bytes are framing: drop them.
        case skip(Int)
        /// Nothing can be decided until more bytes come.
        case needMore
        /// The body is complete once the first n bytes (framing) are dropped.
        case done(skip: Int)
        case failed(Int)
    }

    // (Widest first: 16 bytes in the slot, not 24.)
    /// Body bytes still to come (Content-Length), or data bytes left in this chunk.
    var remaining: UInt64 = 0
    /// The head kept in front of the buffer while the body streams; 0 when not streaming.
    var headLength: Int32 = 0
    var phase: Phase = .length

    static func length(_ n: UInt64, headLength: Int) -> BodyStream {
        BodyStream(remaining: n, headLength: Int32(headLength), phase: .length)
    }

    static func chunked(headLength: Int) -> BodyStream {
        BodyStream(remaining: 0, headLength: Int32(headLength), phase: .chunkSize)
    }

    /// A response with neither length nor chunks: all of it is body, until the server
    /// closes (the caller ends it at end of stream).
    static func untilClose(headLength: Int) -> BodyStream {
        BodyStream(remaining: UInt64.max, headLength: Int32(headLength), phase: .untilClose)
    }

    var isStreaming: Bool { headLength > 0 }

    mutating func next(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Step {
        switch phase {
        case .length:
            if remaining == 0 { return .done(skip: 0) }
            return takeData(n)
        case .chunkData, .untilClose:
            return takeData(n)
        case .chunkSize:
            switch ChunkedDecoder.chunkSize(p, n, 0) {
            case .incomplete: return .needMore
            case .malformed: return .failed(400)
            case .tooLarge: return .failed(413)
            case let .size(size, next):
                remaining = size
                phase = size == 0 ? .trailers : .chunkData
                return .skip(next)
            }
        case .chunkEnd:
            guard n >= 2 else { return .needMore }
            guard p[0] == ASCII.cr && p[1] == ASCII.lf else { return .failed(400) }
            phase = .chunkSize
            return .skip(2)
        case .trailers:
            switch ChunkedDecoder.lineEnd(p, n, 0) {
            case .incomplete: return .needMore
            case .malformed: return .failed(400)
            case let .at(lf):
                if lf == 1 { return .done(skip: 2) }
                return ChunkedDecoder.isTrailerField(p, 0) ? .skip(lf + 1) : .failed(400)
            }
        }
    }

    private mutating func takeData(_ n: Int) -> Step {
        guard n > 0 else { return .needMore }
        let piece = UInt64(n) < remaining ? n : Int(remaining)
        remaining -= UInt64(piece)
        if remaining == 0 && phase == .chunkData { phase = .chunkEnd }
        return .data(piece)
    }
}
