# Raspberry Pi 3 on 32-bit Raspberry Pi OS (BCM2837, Cortex-A53 in ARMv7 mode, 1 GB),
# armhf userland; the same profile fits other ARMv7 hard-float boards with 512 MB+.
BOARD_DESC        := Raspberry Pi 3 (armhf), ARMv7-A hard-float
BOARD_ARCH        := armv7hf
BOARD_CPU_FLAGS   := -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard
BOARD_RAM_MB      := 512
# make board-vm boots this board's firmware on Debian's ARM kernel in qemu with the RAM of
# the smallest board of this kind Meerkat means to support: 64 MB. Less is not a board
# Debian's armmp kernel boots (issue 28: with -m 48 it panics while booting, "System is
# deadlocked on memory"); at 64 MB the guest has 46 MB of MemTotal (2026-12-05).
BOARD_VM_RAM_MB   := 64
# qemu's -cpu for it: a Cortex-A7: ARMv7-A, as this profile's userland runs the Pi 3's A53.
BOARD_VM_CPU      := cortex-a7
BOARD_MAX_CONNECTIONS := 256
BOARD_RECV_BUFFER     := 8192
BOARD_SEND_BUFFER     := 8192
BOARD_RECV_BUFFERS    := 48
BOARD_SEND_BUFFERS    := 48
# TLS cipher order: 1 puts ChaCha20-Poly1305 ahead of AES-GCM. Measured with this
# board's mbedTLS 2.28 (make bench, BENCHMARKS.md: TLS ciphers): ChaCha20-Poly1305 seals
# records faster on every board here, AES-NI host included.
BOARD_TLS_CHACHA_FIRST := 1
# TLS: a session (mbedTLS context, no record buffers) for every connection slot, and
# the record-buffer pairs (33,434 B each, allocated once) that the connections moving
# data at the same moment share; an idle TLS connection holds none (README: TLS).
BOARD_TLS_SLOTS       := 256
BOARD_TLS_BUFFER_PAIRS := 8
# Under pressure, a holder of pool blocks stalled this long gives them back (docs/architecture.md).
BOARD_RECLAIM_GRACE_MS := 1000
# Under pressure, a receive block's holder slower than this (bytes/s since it took the
# block) gives it back after its share of the grace, as a silent one does. A whole head
# then a body byte every 50-100 ms shows 290-420 B/s at its grace share (120-190 ms);
# honest slow POSTs 4 KB/s and up, a 9,600 baud line 960 (docs/architecture.md: Reclaim).
BOARD_RECLAIM_MIN_RATE := 512
# Keep-alive: a WebSocket silent this long is pinged, an idle SSE stream gets a comment
# line; one idle timeout (60 s) after an unanswered ping, close 1001. Half the idle
# timeout, so a proxy or NAT that also cuts at 60 s sees traffic first.
BOARD_WS_PING_MS := 30000
# MQTT outbox (per Reconnector): publishes kept, in order, while the broker is away;
# messages and bytes of topic and payload. Full: the publish fails (the app sees it).
BOARD_MQTT_OUTBOX := 32
BOARD_MQTT_OUTBOX_BYTES := 8192
# Swift optimisation: -Osize. Measured on the host (make bench, 2026-11-29): -O made
# echo-server 11.6 % larger (1,103,024 against 988,368 bytes stripped) for about 2 % less
# CPU per request, inside the run-to-run noise; size wins on every board.
BOARD_SWIFT_OPT := -Osize
# Logins: sessions at once (88 bytes each), and PBKDF2-HMAC-SHA256 iterations for a new
# password record, aimed at 100-250 ms a login on the board (README: Logins and sessions).
BOARD_AUTH_SESSIONS := 32
BOARD_PBKDF2_ITERATIONS := 60000
