# The development machine itself: x86_64 Linux, Embedded Swift. Used by `make run`,
# the integration suite and the benchmarks.
BOARD_DESC        := x86_64 host (development, CI)
BOARD_ARCH        := x86_64
BOARD_CPU_FLAGS   :=
BOARD_RAM_MB      := 1024
# Limits (see Sources/Meerkat/Core/Limits.swift)
BOARD_MAX_CONNECTIONS := 1024
BOARD_RECV_BUFFER     := 16384
BOARD_SEND_BUFFER     := 16384
BOARD_RECV_BUFFERS    := 128
BOARD_SEND_BUFFERS    := 128
# TLS cipher order: 1 puts ChaCha20-Poly1305 ahead of AES-GCM. Measured with this
# board's mbedTLS 2.28 (make bench, BENCHMARKS.md: TLS ciphers): ChaCha20-Poly1305 seals
# records faster on every board here, AES-NI host included.
BOARD_TLS_CHACHA_FIRST := 1
# TLS: a session (mbedTLS context, no record buffers) for every connection slot, and
# the record-buffer pairs (33,434 B each, allocated once) that the connections moving
# data at the same moment share; an idle TLS connection holds none (README: TLS).
BOARD_TLS_SLOTS       := 1024
BOARD_TLS_BUFFER_PAIRS := 64
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
BOARD_MQTT_OUTBOX := 64
BOARD_MQTT_OUTBOX_BYTES := 16384
# Swift optimisation: -Osize. Measured on the host (make bench, 2026-11-29): -O made
# echo-server 11.6 % larger (1,103,024 against 988,368 bytes stripped) for about 2 % less
# CPU per request, inside the run-to-run noise; size wins on every board.
BOARD_SWIFT_OPT := -Osize
# Logins: sessions at once (88 bytes each), and PBKDF2-HMAC-SHA256 iterations for a new
# password record, aimed at 100-250 ms a login on the board (README: Logins and sessions).
BOARD_AUTH_SESSIONS := 32
BOARD_PBKDF2_ITERATIONS := 120000
