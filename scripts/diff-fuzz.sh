#!/usr/bin/env bash
# Differential fuzzing across word sizes: the same seeded inputs through the codecs on
# each board (ARM under qemu-user); every transcript must equal the first board's.
# usage: diff-fuzz.sh SEED COUNT BOARD...
set -euo pipefail
seed=$1 count=$2; shift 2
first=""
for board in "$@"; do
    out=build/$board/test/diff-fuzz.txt
    runner=$(make -s --no-print-directory print-runner BOARD="$board")
    start=$(date +%s%N)
    $runner build/"$board"/test/codec-runner fuzz "$seed" "$count" > "$out"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    lines=$(wc -l < "$out")
    [ "$lines" -eq "$count" ] || { echo "diff-fuzz: $board printed $lines of $count answers"; exit 1; }
    if [ -z "$first" ]; then
        first=$out
        echo "diff-fuzz: $board: $count inputs (seed $seed) in ${ms} ms"
    elif cmp -s "$first" "$out"; then
        echo "diff-fuzz: $board: $count inputs in ${ms} ms, every answer equal to $(dirname "$(dirname "$first")" | xargs basename)'s"
    else
        echo "diff-fuzz: $board differs from $first:"
        diff "$first" "$out" | head -n 10
        exit 1
    fi
done
