#!/usr/bin/env bash
# Turns board profiles (boards/NAME.mk) into Swift, so boards change sizes without
# editing Sources by hand:
#   board-limits.sh boards/NAME.mk    the firmware's Limits.board and its board's name
#                                     (for --version): build/NAME/gen/BoardProfile.swift
#   board-limits.sh --all MK...       every profile by name, for host tests
#                                     (Limits(board:), TestChannel): written into
#                                     Sources/MeerkatTesting/BoardProfiles.swift
# Both take the same statements from each profile, so a test's "rpi3-armhf" is what
# that board's firmware runs with.
set -euo pipefail
get() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*//p" "$2" | head -n1; }
# get_or KEY MK DEFAULT: a key a profile written before it existed may lack: the
# library's default then.
get_or() { local v; v=$(get "$1" "$2"); echo "${v:-$3}"; }

# limits MK INDENT: statements that build MK's Limits in `l`.
limits() {
  local mk=$1 pad=$2
  cat <<SWIFT
${pad}var l = Limits(
${pad}    maxConnections: $(get BOARD_MAX_CONNECTIONS "$mk"), recvBufferSize: $(get BOARD_RECV_BUFFER "$mk"),
${pad}    sendBufferSize: $(get BOARD_SEND_BUFFER "$mk"), recvBuffers: $(get BOARD_RECV_BUFFERS "$mk"),
${pad}    sendBuffers: $(get BOARD_SEND_BUFFERS "$mk"))
${pad}l.tlsSlots = $(get BOARD_TLS_SLOTS "$mk")
${pad}l.tlsBufferPairs = $(get_or BOARD_TLS_BUFFER_PAIRS "$mk" 16)
${pad}l.tlsChaChaFirst = $([ "$(get BOARD_TLS_CHACHA_FIRST "$mk")" = 1 ] && echo true || echo false)
${pad}l.reclaimGraceMs = $(get BOARD_RECLAIM_GRACE_MS "$mk")
${pad}l.reclaimMinRate = $(get_or BOARD_RECLAIM_MIN_RATE "$mk" 512)
${pad}l.wsPingIntervalMs = $(get BOARD_WS_PING_MS "$mk")
${pad}l.mqttOutbox = $(get_or BOARD_MQTT_OUTBOX "$mk" 32)
${pad}l.mqttOutboxBytes = $(get_or BOARD_MQTT_OUTBOX_BYTES "$mk" 8192)
${pad}l.authSessions = $(get_or BOARD_AUTH_SESSIONS "$mk" 32)
${pad}l.passwordIterations = $(get_or BOARD_PBKDF2_ITERATIONS "$mk" 120000)
SWIFT
}

if [ "${1:-}" = "--all" ]; then
  shift
  names=""
  for mk in "$@"; do names+="${names:+, }\"$(basename "$mk" .mk)\""; done
  cat <<SWIFT
// Generated from boards/*.mk by scripts/board-limits.sh --all (make firmware rewrites it
// when a profile changes; BoardProfileTests checks it against the profiles). Do not edit.
import Meerkat

extension Limits {
    /// The boards with a profile (boards/*.mk), for a test run with each one's limits.
    public static var boardNames: [String] { [$names] }

    /// The limits board \`name\`'s firmware runs with (boards/<name>.mk), on any machine:
    /// a host test of a handler with a small board's blocks (\`TestChannel(limits:)\`)
    /// fails as the board would. Nil for a name with no profile.
    public init?(board name: String) {
        switch name {
SWIFT
  for mk in "$@"; do
    echo "        case \"$(basename "$mk" .mk)\":"
    limits "$mk" "            "
    echo "            self = l"
  done
  cat <<SWIFT
        default: return nil
        }
    }
}
SWIFT
  exit 0
fi

mk=$1
board=$(basename "$mk" .mk)
cat <<SWIFT
// Generated from $mk by scripts/board-limits.sh. Do not edit.
extension Limits {
    public static var board: Limits {
$(limits "$mk" "        ")
        return l
    }
}
extension BuildInfo {
    public static var board: String { "$board" }
}
SWIFT
