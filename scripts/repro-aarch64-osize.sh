#!/usr/bin/env bash
# A Swift 6.3.1 miscompile found while writing the client tools (issue 11): Embedded
# Swift for aarch64 at -Osize, top-level code that assigns a global String? inside a
# `while let … = args.popFirst()` loop crashes (SIGSEGV) once the assignment runs. The
# same loop inside a function, or built with -O, or for x86_64, runs fine; disabling
# LLVM's optimisations (-Xfrontend -disable-llvm-optzns) does not help, and neither does
# turning the machine outliner off. The IR swiftc emits at -Osize (-emit-ir) runs when
# the toolchain's clang compiles it at -O0 and crashes at -O2; clang's
# -mllvm -opt-bisect-limit puts the first bad pass at AArch64 instruction selection of
# `main` (checked again 2026-12-04, issue 22). Our apps parse their arguments in a
# function (AppOptions.parse, fetch's and ws-client's parseOptions). Prints what each
# build does; exit 0.
set -u
dir=$(mktemp -d)
cat > "$dir/repro.swift" <<'SWIFT'
var method: String? = nil
let all = [String(decoding: [45, 45, 109], as: UTF8.self), String(decoding: [80, 79, 83, 84], as: UTF8.self)]
var args = all[...]
while let arg = args.popFirst() {
    if arg.utf8.count == 3 { method = args.popFirst() }
}
print(method ?? "none")
SWIFT
tables=$(dirname "$(dirname "$(command -v swiftc)")")/lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a
for opt in -Osize -O; do
    swiftc -target aarch64-none-none-elf -enable-experimental-feature Embedded -wmo "$opt" \
        -module-name repro -c "$dir/repro.swift" -o "$dir/repro.o" &&
    aarch64-linux-gnu-gcc -static-libgcc "$dir/repro.o" "$tables" -lm -o "$dir/repro" || exit 1
    out=$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$dir/repro" 2>/dev/null); rc=$?
    echo "aarch64 $opt: exit $rc, printed '${out}' (expected 'POST')"
done
rm -rf "$dir"
