#!/usr/bin/env bash
# libFuzzer targets (built by make into build/fuzz/bin), one after another: only one
# fuzzer process at a time.
#   fuzz.sh run SECONDS TARGET...   each target SECONDS from its kept corpus
#                                   (Tests/fuzz/corpus/TARGET, read only); new inputs go
#                                   to build/fuzz/corpus/TARGET, crashes to build/fuzz/crashes.
#   fuzz.sh merge 0 TARGET...       the kept corpus minimised (-set_cover_merge=1) over
#                                   itself and what the runs found.
# A run prints per target its executions and libFuzzer's final coverage (cov: edges,
# ft: features) and the kept corpus's size; a crash fails the run once all have run.
# Each target's log and its load average before and after (build/fuzz/logs/TARGET.load)
# are what `make fuzz-record` (scripts/fuzz_record.py) makes BENCHMARKS.md's table from.
set -euo pipefail
mode=$1 seconds=$2; shift 2
export SWIFT_BACKTRACE=enable=no
flags=(-max_len=4096 -timeout=10 -print_final_stats=1)
mkdir -p build/fuzz/logs build/fuzz/crashes
failed=()

size_of() {  # files and bytes of a corpus folder
    local files bytes
    files=$(find "$1" -type f | wc -l)
    bytes=$(find "$1" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
    echo "$files files, $bytes bytes"
}

for t in "$@"; do
    kept=Tests/fuzz/corpus/$t found=build/fuzz/corpus/$t log=build/fuzz/logs/$t.log
    mkdir -p "$kept" "$found"
    case $mode in
    run)
        start=$(date +%s)
        cut -d' ' -f1 /proc/loadavg > "build/fuzz/logs/$t.load"
        if ! build/fuzz/bin/"$t" "${flags[@]}" -max_total_time="$seconds" \
            -artifact_prefix=build/fuzz/crashes/"$t"- "$found" "$kept" > "$log" 2>&1; then
            failed+=("$t")
            echo "fuzz: $t FAILED (log $log):"
            grep -E "Fatal error|^==[0-9]+==|^SUMMARY|Test unit written" "$log" | head -n 12 || true
        fi
        cut -d' ' -f1 /proc/loadavg >> "build/fuzz/logs/$t.load"
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
        cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$last")
        ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<< "$last")
        echo "fuzz: $t: $(( $(date +%s) - start )) s, ${execs:-?} executions, cov ${cov:-?} ft ${ft:-?}," \
            "kept corpus $(size_of "$kept"), found $(find "$found" -type f | wc -l)"
        ;;
    merge)
        fresh=build/fuzz/merge/$t
        rm -rf "$fresh" && mkdir -p "$fresh"
        # Set cover over edges, not hit counts: every edge the inputs reach is kept, by a
        # few hundred files at most rather than a thousand.
        build/fuzz/bin/"$t" "${flags[@]}" -set_cover_merge=1 -use_counters=0 "$fresh" "$kept" "$found" \
            > "build/fuzz/logs/$t.merge.log" 2>&1  # not over the run's log, which fuzz-record reads
        rm -rf "$kept" && mv "$fresh" "$kept"
        echo "fuzz: $t: kept corpus $(size_of "$kept")"
        ;;
    *)
        echo "usage: fuzz.sh run SECONDS TARGET... | merge 0 TARGET..." >&2
        exit 2
        ;;
    esac
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashed: ${failed[*]} (inputs in build/fuzz/crashes)"
    exit 1
fi
