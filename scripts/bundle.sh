#!/usr/bin/env bash
# make bundle BOARD=name: build/<board>/meerkat-<board>.tar.gz with the board's
# binaries, a systemd unit per app (restarts on failure) and an install note.
set -euo pipefail
board=$1; shift
out=build/$board/bundle/meerkat-$board
rm -rf "$out"
mkdir -p "$out/bin" "$out/systemd"
# Client tools run by hand on the board (no listener, no service): no systemd unit.
TOOLS=" ws-client fetch "
servers=()
for app in "$@"; do
  cp "build/$board/bin/$app" "$out/bin/"
  [[ "$TOOLS" == *" $app "* ]] && continue
  servers+=("$app")
  cat > "$out/systemd/meerkat-$app.service" <<UNIT
[Unit]
Description=Meerkat $app
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/opt/meerkat/bin/$app --listen http://0.0.0.0:8000
Restart=on-failure
RestartSec=2
DynamicUser=yes
AmbientCapabilities=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
MemoryMax=64M

[Install]
WantedBy=multi-user.target
UNIT
done
cat > "$out/INSTALL.txt" <<NOTE
Meerkat firmware bundle for board '$board'.

  sudo mkdir -p /opt/meerkat
  sudo cp -r bin /opt/meerkat/
  sudo cp systemd/meerkat-<app>.service /etc/systemd/system/
  sudo systemctl daemon-reload
  sudo systemctl enable --now meerkat-<app>

Services: ${servers[*]}
Tools (run by hand, no unit): $(echo $TOOLS) (e.g. bin/ws-client ws://127.0.0.1:8000/ws,
bin/fetch http://127.0.0.1:8000/stats).
Each service takes --listen URL (repeatable); edit ExecStart in the unit to change the
address or port. The binaries need only glibc (mbedTLS is linked in statically).
Logs: journalctl -u meerkat-<app>. The unit restarts the app if it fails.
NOTE
tar -C "$(dirname "$out")" -czf "build/$board/meerkat-$board.tar.gz" "meerkat-$board"
echo "build/$board/meerkat-$board.tar.gz"
