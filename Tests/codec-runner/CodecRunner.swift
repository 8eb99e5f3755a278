// The codec checks as an Embedded Swift program, built for every board (make
// codec-vectors, make diff-fuzz) and run under qemu-user for the ARM boards: the pure
// parsers must give the same answers on a 32-bit and a 64-bit Int.
//   codec-runner                    every vector of Tests/MeerkatTests/Vectors; prints
//                                   "N passed, N failed", exits 1 on any failure
//   codec-runner fuzz SEED COUNT    COUNT mutated inputs from SEED, one answer line each
import CMeerkat

@main
struct CodecRunner {
    static func main() {
        if mk_argc() >= 4, let mode = mk_argv(1), strcmp(mode, "fuzz") == 0,
            let seed = number(mk_argv(2)), let count = number(mk_argv(3))
        {
            DiffFuzz.run(seed: seed, count: Int(truncatingIfNeeded: count))
            return
        }
        if mk_argc() >= 3, let mode = mk_argv(1), strcmp(mode, "pbkdf2") == 0, let n = number(mk_argv(2)) {
            timePbkdf2(iterations: UInt32(truncatingIfNeeded: n))
            return
        }
        let codecs = CodecVectors.run { vector, got in
            print("FAIL \(vector.name): got \(got), expected \(vector.expected)")
        }
        let crypto = CryptoVectors.run { name, got, expected in print("FAIL \(name): got \(got), expected \(expected)") }
        let loop = LoopVectors.run { name, got, expected in print("FAIL \(name): got \(got), expected \(expected)") }
        let passed = codecs.passed + crypto.passed + loop.passed
        let failed = codecs.failed + crypto.failed + loop.failed
        print(
            "codec-vectors: \(passed) passed, \(failed) failed (\(crypto.passed + crypto.failed) of them crypto, "
                + "\(loop.passed + loop.failed) the loop's timers and log)")
        if failed > 0 { exit(1) }
    }

    /// `codec-runner pbkdf2 N`: the time one PBKDF2-HMAC-SHA256 of N iterations (32 bytes
    /// out) takes on this board, for choosing the password hash's iteration count.
    static func timePbkdf2(iterations: UInt32) {
        var out = [UInt8](repeating: 0, count: 32)
        let start = mk_now_ms()
        let ok = out.withUnsafeMutableBytes {
            Pbkdf2.sha256(
                password: StaticString("password").rawBuffer, salt: StaticString("per-device-salt").rawBuffer,
                iterations: iterations, into: $0)
        }
        print("pbkdf2-sha256: \(iterations) iterations in \(mk_now_ms() - start) ms\(ok ? "" : " (refused)")")
    }

    static func number(_ text: UnsafePointer<CChar>?) -> UInt64? {
        guard let text else { return nil }
        let view = ByteView(base: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text))
        if case let .value(n) = WireNumber.decimal(view) { return n }
        return nil
    }
}
