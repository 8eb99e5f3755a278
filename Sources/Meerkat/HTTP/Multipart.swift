/// `multipart/form-data` (RFC 7578 over RFC 2046 §5.1), read as a stream: fed the body
/// in pieces of any size (the whole body at once, or each `.httpBody` piece of a
/// streamed upload), it reports each part's headers, its bytes as they come, and its
/// end. Pure, and it keeps nothing of the body: a part's bytes are views of the piece
/// being fed, except a possible delimiter split between two pieces, whose bytes are
/// known (they are the delimiter's own) and so are handed back from it. Only a part's
/// header block is copied, into a scratch the caller gives, so a header larger than the
/// scratch, a bad boundary or a missing final delimiter is an error, never a buffer
/// that grows. Nothing is allocated: the boundary is a view of the request's
/// Content-Type, which stays at the front of the receive buffer while a body streams.
public struct MultipartReader {
    public enum Event {
        /// A part begins: its form field name, file name (empty for a plain field) and
        /// Content-Type (empty when not given); views valid during the event only.
        case part(name: ByteView, filename: ByteView, contentType: ByteView)
        /// Bytes of the current part.
        case data(ByteView)
        /// The current part is complete.
        case partEnd
    }

    public enum Failure: Equatable {
        case badBoundary, headerTooLarge, badHeader, missingTerminator
    }

    private enum State { case preamble, afterDelimiter, headers, data, epilogue, failed }
    /// What follows a delimiter: "--" (the end), or optional spaces then CRLF.
    private enum After { case start, dash, padding, cr }

    /// What ends a part (and, with "--" after it, the body) is "\r\n--" + boundary.
    private static let lead: StaticString = "\r\n--"
    private let boundary: ByteView
    private let delimiterLength: Int
    private let scratch: UnsafeMutableRawBufferPointer
    private var state: State = .preamble
    /// Bytes of the delimiter matched so far (the first piece starts with "\r\n"
    /// matched: the body may begin with the delimiter's "--" right away).
    private var matched = 2
    private var after: After = .start
    private var padding = 0
    private var headerLength = 0
    public private(set) var failure: Failure? = nil

    /// `contentType` is the request's Content-Type header (it must stay valid while
    /// the reader is used); nil when it is not multipart/form-data with a valid
    /// boundary (1…70 characters, RFC 2046). `scratch` holds one part's header block.
    public init?(contentType: ByteView, scratch: UnsafeMutableRawBufferPointer) {
        guard let boundary = MultipartReader.boundary(contentType) else { return nil }
        self.boundary = boundary
        delimiterLength = 4 + boundary.count
        self.scratch = scratch
    }

    /// True once the final delimiter has been read.
    public var isComplete: Bool { state == .epilogue }

    private func delimiter(_ k: Int) -> UInt8 {
        k < 4 ? MultipartReader.lead.utf8Start[k] : boundary.buffer[k - 4]
    }

    /// Feeds the next piece of the body; `emit` hears what it completes. False once the
    /// body is malformed (`failure` says how); stop feeding then.
    public mutating func feed(_ piece: ByteView, _ emit: (Event) -> Void) -> Bool {
        let p = piece.buffer
        var i = 0
        var runStart = 0  // start of the part data in this piece not yet handed out
        while i < piece.count {
            switch state {
            case .failed:
                return false
            case .epilogue:
                return true
            case .preamble, .data:
                let c = p[i]
                if c == delimiter(matched) {
                    matched += 1
                    i += 1
                    if matched == delimiterLength {
                        // The delimiter is complete: what came before it is the part's.
                        if state == .data {
                            let end = i - delimiterLength
                            if end > runStart { emit(.data(piece.slice(runStart, end))) }
                            emit(.partEnd)
                        }
                        matched = 0
                        after = .start
                        padding = 0
                        state = .afterDelimiter
                    }
                    continue
                }
                if matched > 0 {
                    // Not the delimiter after all: the bytes matched were data. Those
                    // from an earlier piece are the delimiter's own first bytes.
                    if state == .data {
                        let fromEarlier = matched - min(matched, i - runStart)
                        if fromEarlier > 0 { emitDelimiterBytes(fromEarlier, emit) }
                    }
                    matched = 0
                    continue  // the same byte may begin the delimiter (only "\r" can)
                }
                i += 1
            case .afterDelimiter:
                let c = p[i]
                i += 1
                switch (after, c) {
                case (.start, UInt8(ascii: "-")): after = .dash
                case (.dash, UInt8(ascii: "-")): state = .epilogue
                case (.start, ASCII.space), (.start, ASCII.tab), (.padding, ASCII.space), (.padding, ASCII.tab):
                    // Transport padding before the CRLF (RFC 2046), bounded.
                    padding += 1
                    guard padding <= 64 else { return fail(.badBoundary) }
                    after = .padding
                case (.start, ASCII.cr), (.padding, ASCII.cr): after = .cr
                case (.cr, ASCII.lf):
                    headerLength = 0
                    state = .headers
                default:
                    return fail(.badBoundary)
                }
            case .headers:
                guard headerLength < scratch.count else { return fail(.headerTooLarge) }
                scratch[headerLength] = p[i]
                headerLength += 1
                i += 1
                if headerLength == 2 && scratch[0] == ASCII.cr && scratch[1] == ASCII.lf {
                    // No headers at all: allowed, an unnamed part.
                    emit(.part(name: .empty, filename: .empty, contentType: .empty))
                    enterData(at: i, &runStart)
                } else if headerLength >= 4 && scratch[headerLength - 4] == ASCII.cr && scratch[headerLength - 3] == ASCII.lf
                    && scratch[headerLength - 2] == ASCII.cr && scratch[headerLength - 1] == ASCII.lf
                {
                    guard emitPart(emit) else { return fail(.badHeader) }
                    enterData(at: i, &runStart)
                }
            }
        }
        // The piece is used up: hand out the part's bytes that cannot be a delimiter.
        if state == .data {
            let end = piece.count - min(matched, piece.count - runStart)
            if end > runStart { emit(.data(piece.slice(runStart, end))) }
        }
        return state != .failed
    }

    /// The body has ended: false (`.missingTerminator`) unless the final delimiter came.
    public mutating func finish() -> Bool {
        if state == .epilogue { return true }
        if state != .failed { _ = fail(.missingTerminator) }
        return false
    }

    /// The first `n` bytes of the delimiter, handed out as part data.
    private func emitDelimiterBytes(_ n: Int, _ emit: (Event) -> Void) {
        let lead = min(n, 4)
        emit(.data(ByteView(base: MultipartReader.lead.utf8Start, count: lead)))
        if n > 4 { emit(.data(boundary.slice(0, n - 4))) }
    }

    private mutating func enterData(at i: Int, _ runStart: inout Int) {
        state = .data
        matched = 0
        runStart = i
    }

    private mutating func fail(_ why: Failure) -> Bool {
        failure = why
        state = .failed
        return false
    }

    /// Reads the header block in `scratch`: Content-Disposition (form-data, name,
    /// filename) and Content-Type. False when a line is not a header.
    private func emitPart(_ emit: (Event) -> Void) -> Bool {
        let block = ByteView(base: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), count: headerLength - 2)
        var name = ByteView.empty, filename = ByteView.empty, type = ByteView.empty
        var start = 0
        while start < block.count {
            guard let lf = block.firstIndex(of: ASCII.lf, from: start), lf > start, block.buffer[lf - 1] == ASCII.cr else { return false }
            let line = block.slice(start, lf - 1)
            start = lf + 1
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return false }
            let field = line.slice(0, colon)
            let value = line.slice(colon + 1, line.count).trimmingSpaces()
            if field.equalsIgnoringCase("Content-Disposition") {
                name = MultipartReader.parameter(value, "name") ?? .empty
                filename = MultipartReader.parameter(value, "filename") ?? .empty
            } else if field.equalsIgnoringCase("Content-Type") {
                type = value
            }
        }
        emit(.part(name: name, filename: filename, contentType: type))
        return true
    }

    /// The boundary parameter of a multipart/form-data Content-Type, unquoted.
    static func boundary(_ contentType: ByteView) -> ByteView? {
        let v = contentType.trimmingSpaces()
        guard v.count >= 19, v.slice(0, 19).equalsIgnoringCase("multipart/form-data") else { return nil }
        guard let b = parameter(v.slice(19, v.count), "boundary"), b.count >= 1, b.count <= 70 else { return nil }
        for i in 0..<b.count {
            let c = b.buffer[i]
            let ok =
                ASCII.isDigit(c) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
                || "'()+_,-./:=? ".utf8.contains(c)
            guard ok else { return nil }
        }
        guard b.buffer[b.count - 1] != ASCII.space else { return nil }
        return b
    }

    /// `key=value` or `key="value"` among `;`-separated parameters (key case-insensitive).
    static func parameter(_ header: ByteView, _ key: StaticString) -> ByteView? {
        var at = 0
        while let semi = header.firstIndex(of: UInt8(ascii: ";"), from: at) {
            var rest = header.slice(semi + 1, header.count).trimmingSpaces()
            at = semi + 1
            guard let eq = rest.firstIndex(of: UInt8(ascii: "=")),
                rest.slice(0, eq).trimmingSpaces().equalsIgnoringCase(key)
            else { continue }
            rest = rest.slice(eq + 1, rest.count).trimmingSpaces()
            if rest.count > 0 && rest.buffer[0] == UInt8(ascii: "\"") {
                guard let close = rest.firstIndex(of: UInt8(ascii: "\""), from: 1) else { return nil }
                return rest.slice(1, close)
            }
            return rest.slice(0, rest.firstIndex(of: UInt8(ascii: ";")) ?? rest.count).trimmingSpaces()
        }
        return nil
    }
}
