import Foundation
import Testing
@testable import Meerkat

/// A P-256 key pair made for the test with the openssl CLI (never committed), and images
/// signed with it as `make ota-image` signs them: ECDSA over the image's SHA-256, DER.
private final class Signer {
    let dir: URL
    let publicKey: [UInt8]

    init(_ name: String, curve: String = "prime256v1") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meerkat-ota-\(getpid())-\(name)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try runOpenssl(["ecparam", "-name", curve, "-genkey", "-noout", "-out", dir.appendingPathComponent("k.pem").path])
        try runOpenssl(["ec", "-in", dir.appendingPathComponent("k.pem").path, "-pubout", "-out", dir.appendingPathComponent("pub.pem").path])
        publicKey = Array(try Data(contentsOf: dir.appendingPathComponent("pub.pem")))
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func sign(_ image: [UInt8]) throws -> [UInt8] {
        let file = dir.appendingPathComponent("image"), sig = dir.appendingPathComponent("sig")
        try Data(image).write(to: file)
        try runOpenssl(["dgst", "-sha256", "-sign", dir.appendingPathComponent("k.pem").path, "-out", sig.path, file.path])
        return Array(try Data(contentsOf: sig))
    }
}

/// An ELF header for `target` (an executable, little-endian) followed by `size - 20`
/// bytes that differ per `seed`: what the checks read of a real firmware.
private func elfImage(_ target: ElfTarget = .thisBoard, size: Int = 100_000, seed: UInt8 = 1) -> [UInt8] {
    var image = [UInt8](repeating: 0, count: size)
    image[0...5] = [0x7F, 0x45, 0x4C, 0x46, target.elfClass, 1]
    image[16] = 2
    image[18] = UInt8(target.machine & 0xFF)
    image[19] = UInt8(target.machine >> 8)
    for i in 20..<size { image[i] = UInt8(truncatingIfNeeded: i &* 31 &+ Int(seed)) }
    return image
}

private func sha256(_ bytes: [UInt8]) -> [UInt8] { Sha256.hash(bytes) }

/// An install root in a temporary folder, and what it holds.
private struct Root {
    let path: String
    init(_ name: String) {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("meerkat-ota-root-\(getpid())-\(name)").path
        try? FileManager.default.removeItem(atPath: path)
    }
    var releases: OtaReleases { OtaReleases(root: path, binary: "device-app") }
    func staging() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path + "/staging")) ?? [] }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Streams `image` into `ota` in `piece`-byte writes, then ends it.
@discardableResult
private func send(_ ota: inout Ota, _ image: [UInt8], sha: [UInt8]? = nil, signature: [UInt8], size: Int? = nil, piece: Int = 1000)
    throws -> String
{
    try ota.begin(size: size ?? image.count, sha256: sha ?? sha256(image), signature: signature)
    var at = 0
    while at < image.count {
        let n = min(piece, image.count - at)
        try ota.write(image[at..<(at + n)])
        at += n
    }
    return try ota.end()
}

/// What `body` was refused with (nil when it was not).
private func refusal(_ body: () throws -> Void) -> OtaError? {
    do {
        try body()
        return nil
    } catch {
        return error as? OtaError
    }
}

/// Issue 26 item 2: the streamed, signed update and its install layout.
@Suite(.serialized) struct OtaTests {
    @Test func aSignedImageIsInstalledAndBecomesCurrent() throws {
        let signer = try Signer("good"), root = Root("good")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: signer.publicKey)
        let first = elfImage(seed: 1), second = elfImage(size: 2_000_000, seed: 2)
        let a = try send(&ota, first, signature: signer.sign(first))
        #expect(a == Crypto.hex(sha256(first)).prefix(16).description)
        #expect(root.releases.current() == a && root.releases.previous() == nil)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: root.path + "/releases/\(a)/device-app"))) == first)
        #expect(FileManager.default.isExecutableFile(atPath: root.path + "/current/device-app"))
        let b = try send(&ota, second, signature: signer.sign(second), piece: 1460)
        #expect(root.releases.current() == b && root.releases.previous() == a)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: root.path + "/current/device-app"))) == second)
        #expect(root.staging() == [])  // nothing left half-written
        #expect(!ota.inProgress)
    }

    @Test func everyRefusalLeavesTheCurrentReleaseAndNoTemporary() throws {
        let signer = try Signer("refuse"), other = try Signer("other"), root = Root("refuse")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: signer.publicKey, maxImageSize: 300_000)
        let good = elfImage(seed: 1)
        let running = try send(&ota, good, signature: signer.sign(good))

        let image = elfImage(seed: 3)
        let signature = try signer.sign(image)
        var corrupted = image
        corrupted[5000] ^= 0x40
        #expect(refusal { try send(&ota, corrupted, sha: sha256(image), signature: signature) } == .corrupt)
        #expect(refusal { try send(&ota, Array(image.dropLast()), sha: sha256(image), signature: signature, size: image.count) } == .truncated)
        #expect(refusal { try send(&ota, image, signature: other.sign(image)) } == .badSignature)
        var garbage = signature
        garbage[garbage.count - 1] ^= 1
        #expect(refusal { try send(&ota, image, signature: garbage) } == .badSignature)
        // Signed with the right key, but for another architecture.
        let otherBoard = ElfTarget.thisBoard.machine == 183 ? ElfTarget(elfClass: 2, machine: 62) : ElfTarget(elfClass: 2, machine: 183)
        let foreign = elfImage(otherBoard, seed: 4)
        #expect(refusal { try send(&ota, foreign, signature: signer.sign(foreign)) } == .wrongBoard)
        let thirtyTwoBit = elfImage(ElfTarget(elfClass: 1, machine: ElfTarget.thisBoard.machine), seed: 5)
        #expect(refusal { try send(&ota, thirtyTwoBit, signature: signer.sign(thirtyTwoBit)) } == .wrongBoard)
        var script = image
        script[0...3] = [0x23, 0x21, 0x2F, 0x62]  // "#!/b": not an ELF at all
        #expect(refusal { try send(&ota, script, signature: signer.sign(script)) } == .wrongBoard)
        let large = elfImage(size: 300_001, seed: 6)
        #expect(refusal { try send(&ota, large, signature: signature) } == .tooLarge)
        // More bytes than announced.
        #expect(refusal { try send(&ota, image, signature: signature, size: image.count - 1) } == .tooLarge)

        #expect(root.releases.current() == running && root.releases.previous() == nil)
        #expect(root.staging() == [])
        let releases = try FileManager.default.contentsOfDirectory(atPath: root.path + "/releases")
        #expect(releases == [running])
        #expect(!ota.inProgress)
    }

    @Test func aKeyThatIsNotP256IsRefused() throws {
        let p384 = try Signer("p384", curve: "secp384r1"), root = Root("p384")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: p384.publicKey)
        let image = elfImage()
        #expect(refusal { try send(&ota, image, signature: p384.sign(image)) } == .badKey)
        #expect(root.releases.current() == nil && root.staging() == [])
    }

    @Test func oneUpdateAtATime() throws {
        let signer = try Signer("busy"), root = Root("busy")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: signer.publicKey)
        let image = elfImage()
        #expect(refusal { try ota.write(image) } == .notStarted)
        #expect(refusal { _ = try ota.end() } == .notStarted)
        try ota.begin(size: image.count, sha256: sha256(image), signature: signer.sign(image))
        #expect(refusal { try ota.begin(size: 10, sha256: sha256(image), signature: [UInt8]([1])) } == .busy)
        #expect(root.staging().count == 1)
        ota.abort()
        #expect(root.staging() == [] && !ota.inProgress)
    }

    @Test func aReleaseTheLauncherGaveUpOnIsNotInstalledAgain() throws {
        let signer = try Signer("bad"), root = Root("bad")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: signer.publicKey)
        let image = elfImage()
        let id = String(Crypto.hex(sha256(image)).prefix(16))
        try root.releases.makeFolders()
        FileManager.default.createFile(atPath: root.path + "/state/\(id).bad", contents: Data())
        #expect(refusal { try send(&ota, image, signature: signer.sign(image)) } == .rejectedRelease)
        #expect(root.releases.current() == nil && root.staging() == [])
    }

    @Test func confirmIsDurableAndPerRelease() throws {
        let signer = try Signer("confirm"), root = Root("confirm")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: signer.publicKey)
        let one = elfImage(seed: 1), two = elfImage(seed: 2)
        let a = try send(&ota, one, signature: signer.sign(one))
        #expect(!root.releases.isConfirmed(a))
        try root.releases.confirm()
        #expect(root.releases.isConfirmed(a))
        let b = try send(&ota, two, signature: signer.sign(two))
        #expect(!root.releases.isConfirmed(b) && root.releases.isConfirmed(a))
        try root.releases.confirm()
        #expect(root.releases.isConfirmed(b))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/state").sorted() == ["\(a).confirmed", "\(b).confirmed"].sorted())
    }

    @Test func aConfirmationRemovesTheReleasesNoLinkNamesButKeepsBadMarkers() throws {
        let signer = try Signer("prune"), root = Root("prune")
        defer { root.remove() }
        var ota = Ota(releases: root.releases, publicKey: signer.publicKey)
        let images = (1...3).map { elfImage(seed: UInt8($0)) }
        let a = try send(&ota, images[0], signature: signer.sign(images[0]))
        try root.releases.confirm()
        let b = try send(&ota, images[1], signature: signer.sign(images[1]))
        try root.releases.confirm()
        let c = try send(&ota, images[2], signature: signer.sign(images[2]))
        let state = root.path + "/state/"
        FileManager.default.createFile(atPath: state + "\(c).starts", contents: Data("1\n".utf8))
        FileManager.default.createFile(atPath: state + "\(a).starts", contents: Data("2\n".utf8))
        FileManager.default.createFile(atPath: state + "\(a).bad", contents: Data("gave up\n".utf8))
        func listing(_ folder: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: root.path + folder).sorted() }
        #expect(try listing("/releases") == [a, b, c].sorted())  // installing alone removes nothing
        try root.releases.confirm()
        #expect(root.releases.current() == c && root.releases.previous() == b)
        #expect(try listing("/releases") == [b, c].sorted())
        #expect(try listing("/state") == ["\(a).bad", "\(b).confirmed", "\(c).confirmed", "\(c).starts"].sorted())
        #expect(root.staging() == [])
        // Pruned again when already confirmed: a release a kill kept, and what a kill
        // between the rename into staging and the removal left there.
        try FileManager.default.createDirectory(atPath: root.path + "/releases/0123456789abcdef", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root.path + "/releases/0123456789abcdef/device-app", contents: Data([1]))
        FileManager.default.createFile(atPath: state + "0123456789abcdef.confirmed", contents: Data())
        try FileManager.default.createDirectory(atPath: root.path + "/staging/0123456789abcdef", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root.path + "/staging/0123456789abcdef/device-app", contents: Data([2]))
        try root.releases.confirm()
        #expect(try listing("/releases") == [b, c].sorted())
        #expect(!FileManager.default.fileExists(atPath: state + "0123456789abcdef.confirmed"))
        #expect(root.staging() == [])
        #expect(try root.releases.prune() == [])
    }

    @Test func theRollbackReportHasNoLineEnd() throws {
        let root = Root("report")
        defer { root.remove() }
        #expect(root.releases.rollbackReport() == nil)
        try root.releases.makeFolders()
        let text = "release 0123456789abcdef did not confirm in 2 starts; rolled back to first"
        FileManager.default.createFile(atPath: root.path + "/state/rollback", contents: Data((text + " \r\n").utf8))
        #expect(root.releases.rollbackReport() == text)
    }

    @Test func leftoversOfAKilledInstallAreRemovedAtStart() throws {
        let root = Root("leftovers")
        defer { root.remove() }
        try root.releases.makeFolders()
        FileManager.default.createFile(atPath: root.path + "/staging/.image.0a1b2c3d.part", contents: Data([1, 2]))
        try FileManager.default.createDirectory(atPath: root.path + "/staging/0123456789abcdef", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root.path + "/staging/0123456789abcdef/device-app", contents: Data([3]))
        // A confirmation killed between its temporary and its rename.
        FileManager.default.createFile(atPath: root.path + "/state/.0123456789abcdef.confirmed.0a1b2c3d.part", contents: Data())
        FileManager.default.createFile(atPath: root.path + "/state/fedcba9876543210.confirmed", contents: Data())
        #expect(root.releases.removeLeftovers() == 3)
        #expect(root.staging() == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/state") == ["fedcba9876543210.confirmed"])
    }

    @Test func errorsSayWhat() {
        #expect(OtaError.wrongBoard.description == "the image is not an executable for this board")
        #expect(OtaError.storage(.system(28)).description.hasPrefix("storing the update failed: "))
    }
}
