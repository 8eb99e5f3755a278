#!/usr/bin/env bash
# Turns a board profile (boards/NAME.mk) into the Swift file that gives the firmware
# its Limits, so boards change sizes without editing Sources, and its board's name
# (for --version).
set -euo pipefail
mk=$1
get() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*//p" "$mk" | head -n1; }
# A key a profile written before it existed may lack: the library's default then.
get_or() { local v; v=$(get "$1"); echo "${v:-$2}"; }
board=$(basename "$mk" .mk)
cat <<SWIFT
// Generated from $mk by scripts/board-limits.sh. Do not edit.
extension Limits {
    public static var board: Limits {
        var l = Limits(maxConnections: $(get BOARD_MAX_CONNECTIONS),
                       recvBufferSize: $(get BOARD_RECV_BUFFER), sendBufferSize: $(get BOARD_SEND_BUFFER),
                       recvBuffers: $(get BOARD_RECV_BUFFERS), sendBuffers: $(get BOARD_SEND_BUFFERS))
        l.tlsSlots = $(get BOARD_TLS_SLOTS)
        l.tlsChaChaFirst = $([ "$(get BOARD_TLS_CHACHA_FIRST)" = 1 ] && echo true || echo false)
        l.reclaimGraceMs = $(get BOARD_RECLAIM_GRACE_MS)
        l.wsPingIntervalMs = $(get BOARD_WS_PING_MS)
        l.mqttOutbox = $(get_or BOARD_MQTT_OUTBOX 32)
        l.mqttOutboxBytes = $(get_or BOARD_MQTT_OUTBOX_BYTES 8192)
        return l
    }
}
extension BuildInfo {
    public static var board: String { "$board" }
}
SWIFT
