#!/usr/bin/env bash
# make bundle: OUTDIR/NAME-VERSION-BOARD.tar.gz with the binaries, a systemd unit per
# service (restarts on failure), the size table, an install note, and Meerkat's LICENSE
# and NOTICE (the licences of what the firmware links); installed in /opt/NAME.
#   bundle.sh BOARD OUTDIR NAME VERSION [--ota-key KEY] [--multicall FILE] BINARY...
# Meerkat's own apps: NAME "meerkat", VERSION Meerkat's, units meerkat-<app>.service; an
# app of your own (make bundle APP=DIR [APP_VERSION=]): NAME is the app, VERSION its own
# (Meerkat's when not given), its unit NAME.service. With --multicall FILE (Meerkat's
# bundle: build/BOARD/bin/meerkat, every app in one binary), bin/ holds FILE and, for
# each BINARY, only a link named like it to FILE (FILE runs the app its name says).
set -euo pipefail
board=$1 outdir=$2 name=$3 version=$4; shift 4
multicall="" ota_key=""
if [ "${1:-}" = "--ota-key" ]; then ota_key=$2; shift 2; fi
if [ "${1:-}" = "--multicall" ]; then multicall=$2; shift 2; fi
here=$(dirname "$0")
meerkat_version=$(bash "$here/version.sh")
revision=$(bash "$here/revision.sh")
top=$name-$version-$board
out=$outdir/bundle/$top
rm -rf "$out"
mkdir -p "$out/bin" "$out/systemd"
# Client tools run by hand on the board (no listener, no service): no systemd unit.
TOOLS=" ws-client fetch mqtt-client "
servers=() tools=() ports="" ota_units=""
[ -n "$multicall" ] && cp "$multicall" "$out/bin/"
for bin in "$@"; do
  app=$(basename "$bin")
  if [ -n "$multicall" ]; then
    ln -s "$(basename "$multicall")" "$out/bin/$app"
  else
    cp "$bin" "$out/bin/"
  fi
  if [[ "$TOOLS" == *" $app "* ]]; then tools+=("$app"); continue; fi
  servers+=("$app")
  # A port per service (8000, 8001, … in the order of the apps), so that every unit of a
  # bundle can run at once; one app alone serves on 8000.
  port=$((8000 + ${#servers[@]} - 1))
  ports+="${ports:+, }$app $port"
  unit=$([ "$name" = "$app" ] && echo "$app" || echo "$name-$app")
  # DynamicUser= and ProtectSystem=strict leave the app no writable folder but the one
  # StateDirectory= makes (/var/lib/UNIT, kept across restarts and upgrades); --dir (a
  # flag of every app, AppOptions) puts its settings, uploads and files there.
  exec_start="/opt/$name/bin/$app --listen http://0.0.0.0:$port --dir /var/lib/$unit"
  restart="Restart=on-failure"
  # The app that updates itself (device-app; an app of your own bundled with OTA_KEY)
  # runs through the launcher, its releases in its state folder (ota/): a dynamic user
  # can write nowhere else. Restart=always: a rollback and an installed update end the
  # launcher with the app, and both must start again.
  if [ -n "$ota_key" ] && { [ "$app" = device-app ] || [ "$app" = "$name" ]; }; then
    exec_start="/opt/$name/bin/ota-launch /var/lib/$unit/ota $app --listen http://0.0.0.0:$port --dir /var/lib/$unit"
    exec_start+=" --ota-root /var/lib/$unit/ota --ota-key /opt/$name/ota.pub"
    restart="Restart=always"
    ota_units+="${ota_units:+ }$unit"
  fi
  # LimitNOFILE=: systemd's default soft limit, 1,024 descriptors, is less than a
  # table of 1,024 connections needs (the host's profile; with the listeners, the reject
  # slots and the loop's own): past it accept fails with EMFILE and a new client waits
  # unanswered instead of getting its 503 (issue 28, measured in the board's VM). The
  # table sizes the memory; this limit only has to stay out of its way, --max-connections
  # raised too.
  cat > "$out/systemd/$unit.service" <<UNIT
[Unit]
Description=$name: $app
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=$exec_start
$restart
RestartSec=2
DynamicUser=yes
StateDirectory=$unit
AmbientCapabilities=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
MemoryMax=64M
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
UNIT
done
if [ -n "$multicall" ]; then
  bash "$here/size.sh" --board "$board" "$multicall" > "$out/SIZES.md"
else
  bash "$here/size.sh" --board "$board" "$@" > "$out/SIZES.md"
fi
cp "$here/../LICENSE" "$here/../NOTICE" "$out/"
# Signed updates (--ota-key, the signer's key or its public half): the public half, which the app
# checks images with (--ota-key ota.pub), and the launcher that rolls a bad update back.
# The public key is all a bundle needs, so OTA_KEY may also name it (ota-image's ota.pub);
# anything else stops here with a reason rather than an empty bundle and no word.
if [ -n "$ota_key" ]; then
  if ! openssl ec -in "$ota_key" -pubout -out "$out/ota.pub" 2>/dev/null \
    && ! openssl ec -pubin -in "$ota_key" -pubout -out "$out/ota.pub" 2>/dev/null; then
    echo "bundle: OTA_KEY=$ota_key is not a P-256 key in PEM (the signing key, or its ota.pub)" >&2
    exit 1
  fi
  cp "$here/ota-launch.sh" "$out/bin/ota-launch"
fi
units=""   # the unit files, on one line
for f in "$out"/systemd/*.service; do
  if [ -e "$f" ]; then units+="${units:+ }$(basename "$f")"; fi
done
unit='<unit>'
[ "${#servers[@]}" -eq 1 ] && unit=${units%.service}   # one service: its own name below
cat > "$out/INSTALL.txt" <<NOTE
$name $version firmware bundle for board '$board' (built with Meerkat $meerkat_version, git $revision).

  sudo mkdir -p /opt/$name
  sudo cp -r bin /opt/$name/${ota_key:+
  sudo cp ota.pub /opt/$name/}
  sudo cp systemd/$unit.service /etc/systemd/system/
  sudo systemctl daemon-reload
  sudo systemctl enable --now $unit

Units: $units
NOTE
if [ -n "$multicall" ]; then
  echo "bin/$(basename "$multicall") holds every app; bin/<app> are links to it (it runs the app its name says, or: bin/$(basename "$multicall") <app> ...)." >> "$out/INSTALL.txt"
fi
if [ ${#tools[@]} -gt 0 ]; then
  echo "Tools (run by hand, no unit): ${tools[*]} (e.g. bin/ws-client ws://127.0.0.1:8000/ws, bin/fetch http://127.0.0.1:8000/stats)." >> "$out/INSTALL.txt"
fi
cat >> "$out/INSTALL.txt" <<NOTE
Each service listens on a port of its own ($ports) and takes --listen URL
(repeatable); edit ExecStart in the unit to change the address or port. A service writes only to its state folder, /var/lib/<unit> (--dir in
ExecStart, StateDirectory= in the unit): device-app's settings and uploads, the files
upload-server keeps, the files file-server serves. device-app keeps its admin password
there too, as a PBKDF2 record: until one is set it serves only its setup page, whose
first visitor sets it; to ship it set, add --password-file PATH to ExecStart (a file
only the service can read, holding the password or a record made elsewhere).
The binaries need only glibc (mbedTLS is linked in statically); their
stripped sizes and the board's memory limits are in SIZES.md.
Logs: journalctl -u $unit. The unit restarts the app if it fails.
Each binary's --version prints its version, board and git revision. LICENSE is
Meerkat's licence (Apache-2.0); NOTICE lists what the binaries link and their licences.
NOTE
if [ -n "$ota_key" ]; then
  cat >> "$out/INSTALL.txt" <<NOTE
Signed updates: ota.pub is the public key images must be signed for (make ota-image
OTA_KEY=…). The unit of the app that updates itself (${ota_units:-none}) runs it
through bin/ota-launch, which keeps its releases under the unit's state folder,
/var/lib/<unit>/ota (releases/<id>/, current, previous, state/), not under /opt/$name:
with DynamicUser= the service runs as a user made at each start, which can own and
write only what StateDirectory= gives it, while ProtectSystem=strict keeps /opt/$name
read-only, so the bundle's binary stays as installed. On the first start the launcher
copies bin/<app> (beside it) in as release "first". It rolls an update back
after OTA_STARTS (3) starts that did not confirm within OTA_CONFIRM_SECONDS (60)
(Environment= in the unit sets them); Restart=always starts it again after an update,
a rollback or a crash. Sending an update (an upload, a pull, an MQTT command) and
watching a rollback: Meerkat's README, "Updating boards in the field".
NOTE
fi
tar -C "$outdir/bundle" -czf "$outdir/$top.tar.gz" "$top"
echo "$outdir/$top.tar.gz"
