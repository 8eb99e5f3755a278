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
        let result = CodecVectors.run { vector, got in
            print("FAIL \(vector.name): got \(got), expected \(vector.expected)")
        }
        print("codec-vectors: \(result.passed) passed, \(result.failed) failed")
        if result.failed > 0 { exit(1) }
    }

    static func number(_ text: UnsafePointer<CChar>?) -> UInt64? {
        guard let text else { return nil }
        let view = ByteView(base: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text))
        if case let .value(n) = WireNumber.decimal(view) { return n }
        return nil
    }
}
