/// Why an update was refused (`Ota`) or could not be installed (`OtaReleases`). Every
/// refusal leaves the running release as it was and no temporary file behind.
public enum OtaError: Error, Equatable {
    /// The bytes do not hash to the SHA-256 announced with them.
    case corrupt
    /// The image ended before the size announced.
    case truncated
    /// The signature is not the firmware's key's over the image's SHA-256.
    case badSignature
    /// Not an executable for this board (ELF class or machine of another architecture).
    case wrongBoard
    /// Larger than the limit, or more bytes than announced.
    case tooLarge
    /// An update is already being received.
    case busy
    /// `write` or `end` without a `begin`.
    case notStarted
    /// The public key built into the firmware is not a P-256 key.
    case badKey
    /// That release failed to start before and is never tried again.
    case rejectedRelease
    /// The staging or install folder failed (disk full, permissions).
    case storage(FileError)
}

extension OtaError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .corrupt: return "the image does not match its SHA-256 (corrupt)"
        case .truncated: return "the image is shorter than announced (truncated)"
        case .badSignature: return "the image's signature is not the firmware key's"
        case .wrongBoard: return "the image is not an executable for this board"
        case .tooLarge: return "the image is larger than allowed or than announced"
        case .busy: return "another update is in progress"
        case .notStarted: return "no update was begun"
        case .badKey: return "the firmware's update key is not a P-256 public key"
        case .rejectedRelease: return "that release failed to start before and is not tried again"
        case let .storage(error): return "storing the update failed: \(error.description)"
        }
    }
}
