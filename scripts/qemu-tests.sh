#!/usr/bin/env bash
# make qemu-tests: the integration suite on every ARM board given, under qemu-user, as
# make qemu-test BOARD=... runs it, in two parts:
#   1. the boards side by side, the tests marked `timing` left out: under qemu a board's
#      suite mostly waits (for the emulator, its timeouts, its servers), about a fifth of
#      a core, so two boards share the two cores and take little longer than one;
#   2. the `timing` tests (conftest.py: a wall-clock bound not scaled by SLOW), board
#      after board, each alone as in make qemu-test.
# Each part of a board writes its log (build/BOARD/qemu-test.log, qemu-test-timing.log)
# and its pytest cache (build/BOARD/pytest-cache: not the one the runs would share);
# the logs are printed in board order at the end. Fails when any part failed, naming it.
#   qemu-tests.sh BOARD...      (MAKE: the make to run, from the Makefile)
set -uo pipefail
make=${MAKE:-make}

suite() {   # suite BOARD MARKS LOG: the board's suite, pytest -m MARKS, output into LOG
  PYTEST_ADDOPTS="-m '$2' -o cache_dir=$PWD/build/$1/pytest-cache ${PYTEST_ADDOPTS:-}" \
    "$make" --no-print-directory qemu-test BOARD="$1" > "$3" 2>&1
}

declare -A pid failed
for board in "$@"; do
  suite "$board" "not timing" "build/$board/qemu-test.log" &
  pid[$board]=$!
done
for board in "$@"; do
  wait "${pid[$board]}" || failed[$board]+=" side by side"
done
for board in "$@"; do
  suite "$board" timing "build/$board/qemu-test-timing.log" || failed[$board]+=" timing"
done

status=0
for board in "$@"; do
  for log in qemu-test qemu-test-timing; do
    echo "== make qemu-test BOARD=$board: build/$board/$log.log"
    cat "build/$board/$log.log"
  done
done
for board in "$@"; do
  if [ -n "${failed[$board]:-}" ]; then
    echo "qemu-tests: BOARD=$board failed (${failed[$board]# })"
    status=1
  fi
done
exit $status
