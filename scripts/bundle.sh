#!/usr/bin/env bash
# make bundle: OUTDIR/NAME-BOARD.tar.gz with the binaries, a systemd unit per service
# (restarts on failure), the size table and an install note; installed in /opt/NAME.
#   bundle.sh BOARD OUTDIR NAME BINARY...
# Meerkat's own apps: NAME "meerkat", units meerkat-<app>.service; an app of your own
# (make bundle APP=DIR): NAME is the app, its unit NAME.service.
set -euo pipefail
board=$1 outdir=$2 name=$3; shift 3
top=$name-$board
out=$outdir/bundle/$top
rm -rf "$out"
mkdir -p "$out/bin" "$out/systemd"
# Client tools run by hand on the board (no listener, no service): no systemd unit.
TOOLS=" ws-client fetch mqtt-client "
servers=() tools=()
for bin in "$@"; do
  app=$(basename "$bin")
  cp "$bin" "$out/bin/"
  if [[ "$TOOLS" == *" $app "* ]]; then tools+=("$app"); continue; fi
  servers+=("$app")
  unit=$([ "$name" = "$app" ] && echo "$app" || echo "$name-$app")
  cat > "$out/systemd/$unit.service" <<UNIT
[Unit]
Description=$name: $app
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/opt/$name/bin/$app --listen http://0.0.0.0:8000
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
bash "$(dirname "$0")/size.sh" --board "$board" "$@" > "$out/SIZES.md"
units=$(cd "$out/systemd" && ls)
unit='<unit>'
[ "${#servers[@]}" -eq 1 ] && unit=${units%.service}   # one service: its own name below
cat > "$out/INSTALL.txt" <<NOTE
$name firmware bundle for board '$board' (built with Meerkat).

  sudo mkdir -p /opt/$name
  sudo cp -r bin /opt/$name/
  sudo cp systemd/$unit.service /etc/systemd/system/
  sudo systemctl daemon-reload
  sudo systemctl enable --now $unit

Units: $(echo $units)
NOTE
if [ ${#tools[@]} -gt 0 ]; then
  echo "Tools (run by hand, no unit): ${tools[*]} (e.g. bin/ws-client ws://127.0.0.1:8000/ws, bin/fetch http://127.0.0.1:8000/stats)." >> "$out/INSTALL.txt"
fi
cat >> "$out/INSTALL.txt" <<NOTE
Each service takes --listen URL (repeatable); edit ExecStart in the unit to change the
address or port. The binaries need only glibc (mbedTLS is linked in statically); their
stripped sizes and the board's memory limits are in SIZES.md.
Logs: journalctl -u $unit. The unit restarts the app if it fails.
NOTE
tar -C "$outdir/bundle" -czf "$outdir/$top.tar.gz" "$top"
echo "$outdir/$top.tar.gz"
