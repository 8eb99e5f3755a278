// Published test vectors for the crypto and encoding helpers (Sources/Meerkat/Crypto),
// read by the SwiftPM tests (CryptoTests) and by the Embedded codec runner on every
// board (make codec-vectors), so x86_64, aarch64 and armv7hf must all give them:
// NIST FIPS 180 examples for SHA-256 and SHA-1 (empty, "abc", the 56-byte message, a
// million 'a'), RFC 4231 for HMAC-SHA256, RFC 7914 §11 and the widely used RFC 6070-style
// table for PBKDF2-HMAC-SHA256, RFC 4648 §10 for base64 plus the strict decoder's
// refusals, and CRC-32's check value.
#if !MEERKAT_CODEC_RUNNER
@testable import Meerkat
#endif

enum CryptoVectors {
    /// Runs every check; `report` hears each wrong answer (name, got, expected).
    static func run(_ report: (StaticString, String, StaticString) -> Void) -> (passed: Int, failed: Int) {
        VectorTally.run(report) { check in
            sha(check)
            hmac(check)
            pbkdf2(check)
            base64(check)
            misc(check)
        }
    }

    typealias Check = VectorTally.Check

    static let fiftySix: StaticString = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

    static func sha(_ check: Check) {
        check("sha256 empty", Crypto.hex(Sha256.hash("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        check("sha256 abc", Crypto.hex(Sha256.hash("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        check("sha256 56 bytes", Crypto.hex(Sha256.hash(fiftySix)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        check("sha1 empty", Crypto.hex(Sha1.hash("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        check("sha1 abc", Crypto.hex(Sha1.hash("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d")
        check("sha1 56 bytes", Crypto.hex(Sha1.hash(fiftySix)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        // A million 'a', streamed in uneven pieces (1000 × 1000 would hide block-boundary bugs).
        let a = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var h256 = Sha256(), h1 = Sha1()
        var left = 1_000_000
        a.withUnsafeBytes { piece in
            while left > 0 {
                let n = min(left, piece.count)
                h256.update(UnsafeRawBufferPointer(rebasing: piece[0..<n]))
                h1.update(UnsafeRawBufferPointer(rebasing: piece[0..<n]))
                left -= n
            }
        }
        check("sha256 million a", Crypto.hex(h256.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        check("sha1 million a", Crypto.hex(h1.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // finish(into:) starts over: the same object hashes the next message.
        var again = Sha256()
        _ = again.finish()
        again.update(StaticString("abc").rawBuffer)
        check("sha256 reuse", Crypto.hex(again.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    static func hmac(_ check: Check) {
        func tag(_ key: [UInt8], _ data: [UInt8]) -> String { Crypto.hex(HmacSha256.tag(key: key, message: data)) }
        let rep = { (b: UInt8, n: Int) in [UInt8](repeating: b, count: n) }
        let text = { (s: StaticString) in [UInt8](UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        check("rfc4231 1", tag(rep(0x0b, 20), text("Hi There")), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        check(
            "rfc4231 2", tag(text("Jefe"), text("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        check("rfc4231 3", tag(rep(0xaa, 20), rep(0xdd, 50)), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        check(
            "rfc4231 4", tag((1...25).map { UInt8($0) }, rep(0xcd, 50)),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        check("rfc4231 5 (128-bit)", String(tag(rep(0x0c, 20), text("Test With Truncation")).prefix(32)), "a3b6167473100ee06e0c796c2955552b")
        check(
            "rfc4231 6", tag(rep(0xaa, 131), text("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        let long = text(
            "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        )
        check("rfc4231 7", tag(rep(0xaa, 131), long), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
        // Streaming gives the one-shot answer.
        var h = HmacSha256(key: rep(0xaa, 131))
        long.withUnsafeBytes { b in
            h.update(UnsafeRawBufferPointer(rebasing: b[0..<1]))
            h.update(UnsafeRawBufferPointer(rebasing: b[1..<100]))
            h.update(UnsafeRawBufferPointer(rebasing: b[100...]))
        }
        check("rfc4231 7 streamed", Crypto.hex(h.finish()), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    static func pbkdf2(_ check: Check) {
        func dk(_ p: StaticString, _ s: StaticString, _ c: UInt32, _ n: Int) -> String {
            Pbkdf2.sha256(password: p, salt: s, iterations: c, count: n).map { Crypto.hex($0) } ?? "refused"
        }
        check("pbkdf2 c=1", dk("password", "salt", 1, 32), "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        check("pbkdf2 c=2", dk("password", "salt", 2, 32), "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")
        check("pbkdf2 c=4096", dk("password", "salt", 4096, 32), "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
        check(
            "rfc7914 passwd/salt c=1", dk("passwd", "salt", 1, 64),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        )
        check(
            "rfc7914 Password/NaCl c=80000", dk("Password", "NaCl", 80000, 64),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        )
        check("pbkdf2 c=0 refused", dk("password", "salt", 0, 32), "refused")
    }

    static func base64(_ check: Check) {
        func enc(_ s: StaticString, _ a: Base64.Alphabet = .standard) -> String { Base64.encode(s, alphabet: a) }
        func dec(_ s: StaticString, _ a: Base64.Alphabet = .standard) -> String {
            Base64.decode(s, alphabet: a).map { "ok " + Crypto.hex($0) } ?? "refused"
        }
        // RFC 4648 §10, both ways.
        check("b64 enc empty", enc(""), "")
        check("b64 enc f", enc("f"), "Zg==")
        check("b64 enc fo", enc("fo"), "Zm8=")
        check("b64 enc foo", enc("foo"), "Zm9v")
        check("b64 enc foob", enc("foob"), "Zm9vYg==")
        check("b64 enc fooba", enc("fooba"), "Zm9vYmE=")
        check("b64 enc foobar", enc("foobar"), "Zm9vYmFy")
        check("b64 dec empty", dec(""), "ok ")
        check("b64 dec f", dec("Zg=="), "ok 66")
        check("b64 dec fo", dec("Zm8="), "ok 666f")
        check("b64 dec foo", dec("Zm9v"), "ok 666f6f")
        check("b64 dec foob", dec("Zm9vYg=="), "ok 666f6f62")
        check("b64 dec fooba", dec("Zm9vYmE="), "ok 666f6f6261")
        check("b64 dec foobar", dec("Zm9vYmFy"), "ok 666f6f626172")
        // base64url (§5): '-' and '_' for '+' and '/', unpadded by default, padding optional.
        check("b64url enc", Base64.encode([0xfb, 0xff, 0xbf], alphabet: .url), "-_-_")
        check("b64url enc unpadded", enc("fo", .url), "Zm8")
        check("b64url enc padded", Base64.encode("fo", alphabet: .url, padded: true), "Zm8=")
        check("b64 enc +/", Base64.encode([0xfb, 0xff, 0xbf]), "+/+/")
        check("b64url dec", dec("-_-_", .url), "ok fbffbf")
        check("b64url dec unpadded", dec("Zm8", .url), "ok 666f")
        check("b64url dec padded", dec("Zm8=", .url), "ok 666f")
        // The strict decoder's refusals.
        check("b64 refuses url alphabet", dec("-_-_"), "refused")
        check("b64url refuses standard alphabet", dec("+/+/", .url), "refused")
        check("b64 refuses missing padding", dec("Zg"), "refused")
        check("b64 refuses short padding", dec("Zg="), "refused")
        check("b64 refuses extra padding", dec("Zg==="), "refused")
        check("b64 refuses padding on a full group", dec("Zm9v===="), "refused")
        check("b64 refuses stray padding", dec("Zm9=v"), "refused")
        check("b64 refuses padding in the middle", dec("Zg==Zg=="), "refused")
        check("b64 refuses only padding", dec("===="), "refused")
        check("b64 refuses 4n+1 length", dec("Zm9vY"), "refused")
        check("b64url refuses 4n+1 length", dec("Zm9vY", .url), "refused")
        check("b64 refuses nonzero bits (1 byte)", dec("Zh=="), "refused")
        check("b64 refuses nonzero bits (2 bytes)", dec("Zm9="), "refused")
        check("b64url refuses nonzero bits", dec("Zh", .url), "refused")
        check("b64 refuses a space", dec("Zm9v Zm9v"), "refused")
        check("b64 refuses a newline", dec("Zm9v\nZm9v"), "refused")
        check("b64 refuses a NUL", dec("Zm9\0"), "refused")
        check("b64 refuses high bytes", dec("Zm9\u{e9}"), "refused")
        check("b64url refuses wrong padding", dec("Zm8==", .url), "refused")
        // Into a buffer: too small is refused, not truncated.
        var small = (UInt32(0), UInt16(0))
        let fits = withUnsafeMutableBytes(of: &small) { out in
            Base64.decode(StaticString("Zm9vYmFy").rawBuffer, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<5]))
        }
        check("b64 dec into a short buffer", fits == nil ? "refused" : "wrote", "refused")
    }

    static func misc(_ check: Check) {
        check("crc32 check value", hex8(Crc32.checksum("123456789")), "cbf43926")
        check("crc32 empty", hex8(Crc32.checksum("")), "00000000")
        check("constant-time equal", Crypto.constantTimeEquals("t0k3n", "t0k3n") ? "equal" : "differ", "equal")
        check("constant-time last byte", Crypto.constantTimeEquals("t0k3n", "t0k3m") ? "equal" : "differ", "differ")
        check("constant-time length", Crypto.constantTimeEquals("t0k3n", "t0k3") ? "equal" : "differ", "differ")
        check("constant-time empty", Crypto.constantTimeEquals("", "") ? "equal" : "differ", "equal")
        check("hex", Crypto.hex([0x00, 0x7f, 0xff]), "007fff")
        check(
            "ws accept (rfc6455 1.3)",
            {
                var out = [UInt8](repeating: 0, count: 28)
                let ok = out.withUnsafeMutableBytes {
                    WsAcceptKey.make(key: StaticString("dGhlIHNhbXBsZSBub25jZQ==").rawBuffer, into: $0)
                }
                return ok ? String(decoding: out, as: UTF8.self) : "refused"
            }(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        check(
            "ws accept refuses a short key",
            {
                var out = [UInt8](repeating: 0, count: 28)
                return out.withUnsafeMutableBytes { WsAcceptKey.make(key: StaticString("Zm9v").rawBuffer, into: $0) }
                    ? "made" : "refused"
            }(), "refused")
    }
}
