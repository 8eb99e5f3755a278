#!/usr/bin/env bash
# Prints, as a Markdown table, each board's Limits and the stripped size of every app
# built for it (build/<board>/bin). Boards not built yet are built first.
set -euo pipefail
# A TLS session, once used: mbedTLS's context and its two record buffers (34,194 bytes
# with Debian's mbedTLS 2.28: 736 + 2 x 16,717; Manager.tlsSessionBytes gives it at run time).
TLS_SESSION_BYTES=34194
echo "| board | arch | max conns | recv/send block | blocks (recv+send) | buffer RAM | TLS sessions (RAM when all used) | app | stripped size |"
echo "|---|---|---|---|---|---|---|---|---|"
for board in "$@"; do
  mk=boards/$board.mk
  get() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*//p" "$2" | head -n1; }
  arch=$(get BOARD_ARCH "$mk")
  cc=$(get CROSS_CC "cross/$arch.mk")
  strip=${cc%gcc}strip
  [ -d "build/$board/bin" ] || make -s firmware BOARD="$board" >/dev/null
  conns=$(get BOARD_MAX_CONNECTIONS "$mk")
  rb=$(get BOARD_RECV_BUFFER "$mk"); sb=$(get BOARD_SEND_BUFFER "$mk")
  rn=$(get BOARD_RECV_BUFFERS "$mk"); sn=$(get BOARD_SEND_BUFFERS "$mk")
  ram=$(( (rb * rn + sb * sn) / 1024 ))
  tls=$(get BOARD_TLS_SLOTS "$mk")
  for bin in build/"$board"/bin/*; do
    tmp=$(mktemp)
    "$strip" -o "$tmp" "$bin"
    size=$(stat -c %s "$tmp")
    rm -f "$tmp"
    echo "| $board | $arch | $conns | $((rb / 1024)) KiB / $((sb / 1024)) KiB | $rn + $sn | $ram KiB | $tls ($((tls * TLS_SESSION_BYTES / 1024)) KiB) | $(basename "$bin") | $((size / 1024)) KiB |"
  done
done
