#!/usr/bin/env bash
# Prints, as a Markdown table, each board's Limits and the stripped size of every app
# built for it (build/<board>/bin). Boards not built yet are built first.
#   size.sh BOARD...                 every app of each board
#   size.sh --board BOARD FILE...    those binaries, built for BOARD (an app of your own)
set -euo pipefail
# A TLS session, once used: mbedTLS's context and its two record buffers (34,194 bytes
# with Debian's mbedTLS 2.28: 736 + 2 x 16,717; Manager.tlsSessionBytes gives it at run time).
TLS_SESSION_BYTES=34194
get() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*//p" "$2" | head -n1; }

# rows BOARD FILE...: one table row per binary.
rows() {
  local board=$1; shift
  local mk=boards/$board.mk
  local arch cc strip conns rb sb rn sn ram tls tmp size
  arch=$(get BOARD_ARCH "$mk")
  cc=$(get CROSS_CC "cross/$arch.mk")
  strip=${cc%gcc}strip
  conns=$(get BOARD_MAX_CONNECTIONS "$mk")
  rb=$(get BOARD_RECV_BUFFER "$mk"); sb=$(get BOARD_SEND_BUFFER "$mk")
  rn=$(get BOARD_RECV_BUFFERS "$mk"); sn=$(get BOARD_SEND_BUFFERS "$mk")
  ram=$(( (rb * rn + sb * sn) / 1024 ))
  tls=$(get BOARD_TLS_SLOTS "$mk")
  for bin in "$@"; do
    tmp=$(mktemp)
    "$strip" -o "$tmp" "$bin"
    size=$(stat -c %s "$tmp")
    rm -f "$tmp"
    echo "| $board | $arch | $conns | $((rb / 1024)) KiB / $((sb / 1024)) KiB | $rn + $sn | $ram KiB | $tls ($((tls * TLS_SESSION_BYTES / 1024)) KiB) | $(basename "$bin") | $((size / 1024)) KiB |"
  done
}

echo "| board | arch | max conns | recv/send block | blocks (recv+send) | buffer RAM | TLS sessions (RAM when all used) | app | stripped size |"
echo "|---|---|---|---|---|---|---|---|---|"
if [ "${1:-}" = "--board" ]; then
  board=$2; shift 2
  rows "$board" "$@"
  exit 0
fi
for board in "$@"; do
  [ -d "build/$board/bin" ] || make -s firmware BOARD="$board" >/dev/null
  rows "$board" build/"$board"/bin/*
done
