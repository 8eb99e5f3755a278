#!/usr/bin/env bash
# make board-vm: boots an ARM board's Debian kernel in qemu-system (-M virt) with the
# board's RAM, from an initramfs holding static busybox, the glibc files the firmware
# needs, the virtio-net modules and the board's bundle installed as its INSTALL.txt says;
# an /init in place of systemd runs the unit's ExecStart under its Restart= policy.
#   board-vm.sh start BOARD BUNDLE.tar.gz VMDIR RAM_MB CPU QEMU DEB_ARCH SYSROOT [UNIT]
#   board-vm.sh stop VMDIR
# UNIT: the unit to enable (default: the bundle's only unit, or the one on port 8000).
# VMDIR gets: console.log (the serial console), qemu.pid, url (the forwarded service),
# probe-url (the guest's status page: RSS of each service, /proc/meminfo; cgi-bin/kill
# next to it SIGKILLs the services, for the Restart= test) and
# boot-seconds (qemu's start to the first HTTP answer).
set -euo pipefail
trap 'echo "board-vm: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
VM_ROOT=${MEERKAT_VM_ROOT:-/opt/meerkat-vm}
BOOT_TIMEOUT=${BOARD_VM_BOOT_TIMEOUT:-180}   # seconds; a boot under emulation takes 10-60

stop() {
  local vm=$1 pid
  [ -e "$vm/qemu.pid" ] || return 0
  pid=$(cat "$vm/qemu.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$vm/qemu.pid"
}

if [ "$1" = stop ]; then
  stop "$2"
  exit 0
fi
[ "$1" = start ] || { echo "usage: board-vm.sh start|stop ..." >&2; exit 2; }
board=$2 bundle=$3 vm=$(realpath -m "$4") ram=$5 cpu=$6 qemu=$7 arch=$8 sysroot=$9 unit=${10:-}
if [ -z "$ram" ] || [ -z "$arch" ]; then
  echo "board-vm: board '$board' has no VM profile (BOARD_VM_RAM_MB, VM_DEB_ARCH): ARM boards only" >&2
  exit 2
fi
if [ -e "$vm/qemu.pid" ] && kill -0 "$(cat "$vm/qemu.pid")" 2>/dev/null; then
  echo "board-vm: $board's VM is running already (make board-vm-stop BOARD=$board)" >&2
  exit 1
fi
kernel=$(printf '%s\n' "$VM_ROOT/$arch"/boot/vmlinuz-* | sort -V | tail -1)
[ -e "$kernel" ] || { echo "board-vm: no kernel in $VM_ROOT/$arch/boot (make deps)" >&2; exit 1; }
kver=${kernel##*/vmlinuz-}
modules=$VM_ROOT/$arch/lib/modules/$kver

rm -rf "$vm"
root=$vm/initramfs
mkdir -p "$root"/{bin,sbin,lib,etc,proc,sys,dev,run,tmp,var/lib,www/cgi-bin,modules}

# busybox and its applets (ln -s for each, as busybox --install would do at boot).
cp "$VM_ROOT/$arch/bin/busybox" "$root/bin/"
for applet in sh mount mkdir cat sed grep sleep ip ifconfig route insmod httpd ps kill \
              echo seq tr head pidof uname date dmesg ls; do
  ln -s busybox "$root/bin/$applet"
done

# The bundle, installed the way its INSTALL.txt says: each "sudo" line runs with its
# absolute paths under the initramfs; systemctl enable becomes the multi-user.target.wants
# link that systemd would make, which /init reads.
tar -C "$vm" -xzf "$bundle"
top=$(tar -tzf "$bundle" | sed -n '1s|/.*||p')   # sed reads it all: no SIGPIPE for tar
if [ -z "$unit" ]; then
  unit=$(cd "$vm/$top/systemd" && grep -l -- '--listen http://0.0.0.0:8000 ' ./*.service | sed -n 1p)
  unit=$(basename "$unit" .service)
fi
[ -e "$vm/$top/systemd/$unit.service" ] || { echo "board-vm: no unit $unit in $bundle" >&2; exit 1; }
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
while read -r line; do
  # shellcheck disable=SC2086  # the note's words, split as a shell would
  set -- ${line//<unit>/$unit}
  shift   # sudo
  case "$1 ${2:-}" in
    "mkdir -p" | "cp -r"* | "cp systemd"* | "cp ota.pub")
      cmd=("$1")
      shift
      for arg in "$@"; do [[ "$arg" == /* ]] && cmd+=("$root$arg") || cmd+=("$arg"); done
      (cd "$vm/$top" && "${cmd[@]}")
      ;;
    "systemctl daemon-reload") ;;
    "systemctl enable")
      ln -s "../$4.service" "$root/etc/systemd/system/multi-user.target.wants/$4.service"
      ;;
    *) echo "board-vm: INSTALL.txt line not understood: $line" >&2; exit 1 ;;
  esac
done < <(grep '^  sudo ' "$vm/$top/INSTALL.txt")
port=$(sed -n 's|^ExecStart=.*--listen http://0.0.0.0:\([0-9]*\).*|\1|p' "$vm/$top/systemd/$unit.service")

# glibc: the loader and the libraries the firmware names (readelf -d), from the sysroot.
read -r exec_start _ ota_app _ <<<"$(sed -n 's/^ExecStart=//p' "$vm/$top/systemd/$unit.service")"
# A unit run through bin/ota-launch (a bundle made with OTA_KEY): the app beside it.
[ "$(basename "$exec_start")" = ota-launch ] && exec_start=$(dirname "$exec_start")/$ota_app
firmware=$(readlink -f "$root$exec_start")
interp=$(readelf -l "$firmware" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
for lib in $(readelf -d "$firmware" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') "$(basename "$interp")"; do
  cp -L "$sysroot/lib/$lib" "$root/lib/"
done

# virtio-net: virtio_mmio (the virt machine's transport) and virtio_net with what it
# needs, read from each module's depends= (the package has no modules.dep: depmod runs
# at install); busybox's insmod takes a plain .ko, so a compressed one is unpacked.
# Dependencies first.
order=()
add_module() {
  local name=$1 file dep
  for m in "${order[@]}"; do [ "$m" = "$name" ] && return; done
  file=$(find "$modules/kernel" -name "$name.ko*" | sed -n 1p)
  [ -n "$file" ] || { echo "board-vm: module $name not in $modules" >&2; exit 1; }
  case $file in *.xz) xz -dc "$file" ;; *) cat "$file" ;; esac > "$root/modules/$name.ko"
  for dep in $(tr '\0' '\n' < "$root/modules/$name.ko" | sed -n 's/^depends=//p' | tr , ' '); do
    add_module "${dep//-/_}"
  done
  order+=("$name")
}
add_module virtio_mmio
add_module virtio_net
printf '%s\n' "${order[@]}" > "$root/modules/order"

cp "$here/board-vm-init.sh" "$root/init"
cp "$here/board-vm-status.sh" "$root/www/cgi-bin/status"
cp "$here/board-vm-kill.sh" "$root/www/cgi-bin/kill"
chmod 755 "$root/init" "$root/www/cgi-bin/status" "$root/www/cgi-bin/kill"
(cd "$root" && find . | sort | cpio -o -H newc --quiet -R 0:0) > "$vm/initramfs.cpio"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host_port=$(free_port) probe_port=$(free_port)
start=$(date +%s.%N)
"$qemu" -M virt -cpu "$cpu" -m "$ram" -smp 1 -display none -monitor none \
  -kernel "$kernel" -initrd "$vm/initramfs.cpio" \
  -append "console=ttyAMA0 rdinit=/init panic=-1 loglevel=4" -no-reboot \
  -serial "file:$vm/console.log" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$host_port-:$port,hostfwd=tcp:127.0.0.1:$probe_port-:81" \
  -device virtio-net-device,netdev=n0 \
  -daemonize -pidfile "$vm/qemu.pid"
echo "http://127.0.0.1:$host_port" > "$vm/url"
echo "http://127.0.0.1:$probe_port/cgi-bin/status" > "$vm/probe-url"
echo "board-vm: $board ($kver, -m $ram, -cpu $cpu) serving $unit at http://127.0.0.1:$host_port"
echo "board-vm: console in $vm/console.log; stop with: make board-vm-stop BOARD=$board"

# Serving means an HTTP status line from the firmware; qemu's forwarder alone accepts
# and then drops the connection while the guest is still booting.
while :; do
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$host_port/" || true)
  [ "$code" != 000 ] && break
  if ! kill -0 "$(cat "$vm/qemu.pid")" 2>/dev/null; then
    echo "board-vm: qemu exited before serving; its console:" >&2
    tail -30 "$vm/console.log" >&2
    exit 1
  fi
  if [ "$(echo "$(date +%s.%N) - $start > $BOOT_TIMEOUT" | bc)" = 1 ]; then
    echo "board-vm: not serving after $BOOT_TIMEOUT s; its console:" >&2
    tail -30 "$vm/console.log" >&2
    stop "$vm"
    exit 1
  fi
  sleep 0.5
done
seconds=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
echo "$seconds" > "$vm/boot-seconds"
echo "board-vm: serving (HTTP $code) $seconds s after qemu started"
