# Raspberry Pi 4 (BCM2711, 4x Cortex-A72, 1-8 GB), 64-bit Raspberry Pi OS / Debian arm64.
BOARD_DESC        := Raspberry Pi 4, aarch64 Cortex-A72
BOARD_ARCH        := aarch64
BOARD_CPU_FLAGS   := -mcpu=cortex-a72
BOARD_RAM_MB      := 1024
# make board-vm boots this board's firmware on Debian's ARM kernel in qemu with the RAM of
# the smallest board of this kind Meerkat means to support: 64 MB, as for rpi3-armhf,
# whose armmp kernel panics at 48 (issue 28). Debian's arm64 kernel is larger: at 64 MB
# the guest has 35 MB of MemTotal, 16 MB of it available with chat-server serving
# (2026-12-05), enough for this profile's pools (README: Boards on a real ARM kernel).
BOARD_VM_RAM_MB   := 64
# qemu's -cpu for it: a Cortex-A72, the Pi 4's core.
BOARD_VM_CPU      := cortex-a72
# Connections: 256, what a 64 MB board (BOARD_VM_RAM_MB) holds when every peer sends at
# once. Measured in that VM (make board-lowmem, 2026-12-05), 4,000 bytes from every TLS
# WebSocket before any echo is read: 256 pass (the guest's MemFree at its lowest 5.9 MB);
# 512 and 1,024 made the guest's OOM killer take the firmware (at 1,024 init too). The
# kernel's memory for the queued data is what runs short, not the firmware's (VmRSS
# 3-5 MB): tcp_mem's ceiling (522 pages) does not cap it, as each socket may always
# queue tcp_rmem's minimum (768 pages counted at 1,024). A 1 GB Pi 4 can take more.
BOARD_MAX_CONNECTIONS := 256
BOARD_RECV_BUFFER     := 16384
BOARD_SEND_BUFFER     := 16384
# Pool blocks: 48 + 48, as rpi3-armhf's table of 256 has (16 KiB here, 1.5 MiB for both
# pools). 128 + 128 (4 MiB once touched, against the 5.6 MB the 64 MB guest had free at
# its lowest) went with the table of 1,024; with 256 it let half the table hold a block,
# and test_pressure's honest slow POSTs (4 per receive block) outnumbered the table.
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
BOARD_TLS_BUFFER_PAIRS := 32
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
# Swift optimisation: -O on this board. Swift 6.3.1's Embedded aarch64 -Osize code
# crashed (SIGSEGV) in chat-server's MQTT bridge as it took another board's event, and
# in mqtt-client's publish loop, after harmless source changes (2026-12-04; the same
# sources run at -O, and at -Osize on x86_64 and armv7); scripts/repro-aarch64-osize.sh
# shows a minimal case of this miscompile. -O costs about 11 % of binary size (README's
# table, made by make size); until the compiler is fixed, a board that runs beats a
# smaller one that crashes.
BOARD_SWIFT_OPT := -O
# Logins: sessions at once (88 bytes each), and PBKDF2-HMAC-SHA256 iterations for a new
# password record, aimed at 100-250 ms a login on the board (README: Logins and sessions).
BOARD_AUTH_SESSIONS := 32
BOARD_PBKDF2_ITERATIONS := 100000
# Link layout: GNU ld for aarch64 assumes 64 KiB pages and pads the file so that the
# writable segment starts on a 64 KiB boundary of the file's layout: 16 to 20 KiB of
# zeros in every binary (echo-server stripped: 726,136 bytes, 709,752 with these flags).
# The Raspberry Pi kernels use 4 KiB pages (Pi 4, 64-bit Raspberry Pi OS and Debian) or
# 16 KiB (Pi 5), so the segments are aligned for 16 KiB pages, and RELRO is laid out for
# 4 KiB. A kernel with 64 KiB pages (not one a Pi runs) would refuse these binaries.
BOARD_LINK_FLAGS := -Wl,-z,max-page-size=16384 -Wl,-z,common-page-size=4096
