/// A body the library sends from where it already lives instead of copying it into a
/// send block: what lets `reply`, `send` and `httpChunk` take a body larger than a
/// block without new memory. The slot keeps the bytes alive (or pins the receive block
/// they sit in) until the socket has taken them.
struct HeldBody {
    /// Who keeps the bytes alive while they wait.
    enum Owner {
        /// Lent for the call only: must be copied (and so must fit a send block).
        case borrowed
        /// Never freed (StaticString, packed assets).
        case immortal
        /// A retained array; holding the value keeps its storage.
        case array([UInt8])
        /// This connection's receive block (an echo); the block is pinned meanwhile.
        case receiveBlock
        /// A file sent from its descriptor: entry `e` of `Manager.fileSends` (the body
        /// has no address; `count` is what is left, capped at `Int.max`).
        case file(Int32)
    }

    var base: UnsafeRawPointer? = nil
    /// Bytes of the body not yet sent.
    var count: Int = 0
    /// Send-block bytes that go out before the body; the rest of the block follows it.
    var before: Int32 = 0
    var owner: Owner = .borrowed

    var isPending: Bool { count > 0 }
    var pinsReceiveBlock: Bool {
        if case .receiveBlock = owner { return count > 0 }
        return false
    }
}
