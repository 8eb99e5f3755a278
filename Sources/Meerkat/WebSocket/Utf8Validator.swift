/// Incremental UTF-8 validation (RFC 3629) in one byte of state, so a text message can
/// be checked frame by frame and fail at the first byte that cannot lead to valid text
/// (RFC 6455 §8.1): overlong forms, surrogates and code points over U+10FFFF included.
struct Utf8Validator: Equatable {
    /// What the next byte must be. `accept`: between characters.
    enum State: UInt8 {
        case accept
        case tail1  // one 80…BF to go
        case tail2  // two 80…BF to go
        case tail3  // three 80…BF to go
        case afterE0  // A0…BF, then one more (no overlong 3-byte form)
        case afterED  // 80…9F, then one more (no surrogates)
        case afterF0  // 90…BF, then two more (no overlong 4-byte form)
        case afterF4  // 80…8F, then two more (nothing over U+10FFFF)
        case reject
    }

    private(set) var state: State = .accept

    /// Between characters: the text so far is complete.
    var isComplete: Bool { state == .accept }
    var failed: Bool { state == .reject }

    /// Feeds `count` bytes; false once the text can no longer be valid.
    @discardableResult
    mutating func feed(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var s = state
        var i = 0
        while i < count && s != .reject {
            let b = p[i]
            if s == .accept && b < 0x80 {  // ASCII runs stay in the fast path
                i += 1
                continue
            }
            s = Utf8Validator.next(s, b)
            i += 1
        }
        state = s
        return s != .reject
    }

    private static func next(_ s: State, _ b: UInt8) -> State {
        let cont = b >= 0x80 && b <= 0xBF
        switch s {
        case .accept:
            switch b {
            case 0x00...0x7F: return .accept
            case 0xC2...0xDF: return .tail1
            case 0xE0: return .afterE0
            case 0xE1...0xEC, 0xEE...0xEF: return .tail2
            case 0xED: return .afterED
            case 0xF0: return .afterF0
            case 0xF1...0xF3: return .tail3
            case 0xF4: return .afterF4
            default: return .reject  // 80…C1 (continuation or overlong lead), F5…FF
            }
        case .tail1: return cont ? .accept : .reject
        case .tail2: return cont ? .tail1 : .reject
        case .tail3: return cont ? .tail2 : .reject
        case .afterE0: return b >= 0xA0 && b <= 0xBF ? .tail1 : .reject
        case .afterED: return b >= 0x80 && b <= 0x9F ? .tail1 : .reject
        case .afterF0: return b >= 0x90 && b <= 0xBF ? .tail2 : .reject
        case .afterF4: return b >= 0x80 && b <= 0x8F ? .tail2 : .reject
        case .reject: return .reject
        }
    }
}
