#!/usr/bin/env bash
# make sanitize (issue 27 item 5): the library under AddressSanitizer (Swift and C) and
# UndefinedBehaviorSanitizer (the C shim: tls.c, shim.c, crypto.c; Swift traps overflow
# by itself, and swiftc has no -sanitize=undefined on Linux).
# 1. The unit tests, with LeakSanitizer on: a manager made and dropped must free all it
#    took (Tests/sanitize/lsan.supp names the host Foundation's own leaks, nothing else).
# 2. A short integration run (HTTP, WebSocket, TLS, uploads, static files) against the
#    apps SwiftPM built with the same sanitizers; any report they write fails the run.
#    Tests that measure memory (RSS, the allocation counter) are left out: ASan's
#    quarantine and its own malloc change what they measure.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SANITIZE_BUILD:-.build/sanitize}
flags=(--sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --scratch-path "$scratch")
LSAN_OPTIONS="suppressions=$PWD/Tests/sanitize/lsan.supp:print_suppressions=0" swift test "${flags[@]}"

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
bin=$(swift build "${flags[@]}" --show-bin-path)
ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=0" UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1" \
    MEERKAT_BIN="$bin" MEERKAT_BOARD=host python3 -m pytest -q \
    -k "not rss_flat and not no_allocations and not memory_flat and not zero_allocations" \
    Tests/integration/test_http.py Tests/integration/test_websocket.py Tests/integration/test_tls.py \
    Tests/integration/test_upload.py Tests/integration/test_static.py
if compgen -G "$reports/*" > /dev/null; then
    echo "sanitize: reports from the apps:" >&2
    cat "$reports"/* >&2
    exit 1
fi
echo "sanitize: clean (unit tests with leak checks; integration run with no report)"
