#!/usr/bin/env bash
# make integration-all (every board: host and the ARM boards) and make qemu-tests (the
# ARM boards): the integration suite on every board given, as make integration BOARD=...
# runs it (ARM boards under qemu-user), in two parts:
#   1. the boards side by side, the tests marked `timing` left out: a board's suite
#      mostly waits (for its servers, their timeouts, the emulator): the host's used half
#      a core on average, an ARM board's under qemu about a fifth, so three suites share
#      the two cores and take little longer than the longest alone;
#   2. the `timing` tests (conftest.py: a wall-clock bound not scaled by SLOW), board
#      after board, each alone.
# Each part of a board writes its log (build/BOARD/suite.log, suite-timing.log) and its
# pytest cache (build/BOARD/pytest-cache: not the one the runs would share), and says
# how long it took; the logs are printed in board order at the end. Fails when any part
# failed, naming it.
#   suites.sh BOARD...      (MAKE: the make to run, from the Makefile)
set -uo pipefail
make=${MAKE:-make}

suite() {   # suite BOARD MARKS LOG: the board's suite, pytest -m MARKS, output into LOG
  local start=$SECONDS status=0
  PYTEST_ADDOPTS="-m '$2' -o cache_dir=$PWD/build/$1/pytest-cache ${PYTEST_ADDOPTS:-}" \
    "$make" --no-print-directory integration BOARD="$1" > "$3" 2>&1 || status=$?
  echo "suites: BOARD=$1 -m '$2' took $((SECONDS - start)) s" >> "$3"
  return $status
}

declare -A pid failed
for board in "$@"; do
  suite "$board" "not timing" "build/$board/suite.log" &
  pid[$board]=$!
done
for board in "$@"; do
  wait "${pid[$board]}" || failed[$board]+=" side by side"
done
for board in "$@"; do
  suite "$board" timing "build/$board/suite-timing.log" || failed[$board]+=" timing"
done

status=0
for board in "$@"; do
  for log in suite suite-timing; do
    echo "== make integration BOARD=$board: build/$board/$log.log"
    cat "build/$board/$log.log"
  done
done
for board in "$@"; do
  if [ -n "${failed[$board]:-}" ]; then
    echo "suites: BOARD=$board failed (${failed[$board]# })"
    status=1
  fi
done
exit $status
