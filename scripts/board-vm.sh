#!/usr/bin/env bash
# make board-vm: boots an ARM board's Debian kernel in qemu-system (-M virt) with the
# board's RAM, from an initramfs holding static busybox, the glibc files the firmware
# needs, the virtio-net, virtio-blk and ext4 modules and the board's bundle installed as
# its INSTALL.txt says; an /init in place of systemd runs each unit's ExecStart (with its
# drop-ins) under its Restart= policy.
#   board-vm.sh start BOARD BUNDLE.tar.gz VMDIR RAM_MB CPU QEMU DEB_ARCH SYSROOT [UNITS]
#   board-vm.sh stop VMDIR
# UNITS: the units to install and enable, as INSTALL.txt says for each (default: the
# bundle's unit on port 8000); the first is the one url and boot-seconds are about.
# The guest has a state disk, as a board has its SD card: an ext2 image (VMDIR/state.img,
# empty at each start) mounted on /var/lib, where the units' StateDirectory= folders are;
# it survives the guest's reboots (qemu restarts the machine; cgi-bin/reboot asks /init).
# VMDIR gets: console.log (the serial console), qemu.pid, url (the forwarded service),
# probe-url (the guest's status page: RSS of each service, /proc/meminfo; cgi-bin/kill
# next to it SIGKILLs the services, for the Restart= test) and
# boot-seconds (qemu's start to the first HTTP answer).
# From the environment, for tests that need more in the guest than the bundle:
#   BOARD_VM_OVERLAY=DIR  DIR's tree copied onto the initramfs after the bundle is
#                         installed (a certificate, a test program, a CGI script, a unit
#                         file in place of the bundle's)
#   BOARD_VM_FORWARD="P…" more guest TCP ports, each forwarded from a free loopback port
#                         written to VMDIR/port-P
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
board=$2 bundle=$3 vm=$(realpath -m "$4") ram=$5 cpu=$6 qemu=$7 arch=$8 sysroot=$9 units=${10:-}
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

# A fresh VM folder, but the figures earlier test modules wrote there about their own boots
# (make board-test prints them all after the board's run).
if [ -d "$vm" ]; then find "$vm" -mindepth 1 -maxdepth 1 ! -name '*figures' -exec rm -rf {} +; fi
root=$vm/initramfs
mkdir -p "$root"/{bin,sbin,lib,etc,proc,sys,dev,run,tmp,var/lib,www/cgi-bin,modules}

# busybox and its applets (ln -s for each, as busybox --install would do at boot).
cp "$VM_ROOT/$arch/bin/busybox" "$root/bin/"
for applet in sh mount mkdir cat sed grep sleep ip ifconfig route insmod httpd ps kill \
              echo seq tr head pidof uname date dmesg ls umount sync reboot basename tail rm; do
  ln -s busybox "$root/bin/$applet"
done

# The bundle, installed the way its INSTALL.txt says: each "sudo" line runs with its
# absolute paths under the initramfs; systemctl enable becomes the multi-user.target.wants
# link that systemd would make, which /init reads.
tar -C "$vm" -xzf "$bundle"
top=$(tar -tzf "$bundle" | sed -n '1s|/.*||p')   # sed reads it all: no SIGPIPE for tar
if [ -z "$units" ]; then
  units=$(cd "$vm/$top/systemd" && grep -l -- '--listen http://0.0.0.0:8000 ' ./*.service | sed -n 1p)
  units=$(basename "$units" .service)
fi
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
for unit in $units; do
  [ -e "$vm/$top/systemd/$unit.service" ] || { echo "board-vm: no unit $unit in $bundle" >&2; exit 1; }
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
done
unit=${units%% *}
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
# The state disk: virtio-blk, and ext4's driver (it mounts ext2), which asks the crypto
# API for crc32c as it mounts.
add_module virtio_blk
add_module crc32c_generic
add_module ext4
printf '%s\n' "${order[@]}" > "$root/modules/order"

install -m 755 "$here/board-vm-reboot.sh" "$root/www/cgi-bin/reboot"
cp "$here/board-vm-init.sh" "$root/init"
cp "$here/board-vm-status.sh" "$root/www/cgi-bin/status"
cp "$here/board-vm-kill.sh" "$root/www/cgi-bin/kill"
chmod 755 "$root/init" "$root/www/cgi-bin/status" "$root/www/cgi-bin/kill"
if [ -n "${BOARD_VM_OVERLAY:-}" ]; then cp -r "$BOARD_VM_OVERLAY/." "$root/"; fi
# Compressed: the kernel holds the image and its unpacked files in RAM at once while it
# boots, and rpi4's 64 MB (35 MB for the kernel to give) panicked out of memory there with
# the state disk's modules in a plain cpio.
(cd "$root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -6 > "$vm/initramfs.cpio.gz"

truncate -s 16M "$vm/state.img"
mke2fs -q -t ext2 -F "$vm/state.img"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host_port=$(free_port) probe_port=$(free_port)
forwards=
for guest_port in ${BOARD_VM_FORWARD:-}; do
  p=$(free_port)
  echo "$p" > "$vm/port-$guest_port"
  forwards+=",hostfwd=tcp:127.0.0.1:$p-:$guest_port"
done
start=$(date +%s.%N)
"$qemu" -M virt -cpu "$cpu" -m "$ram" -smp 1 -display none -monitor none \
  -kernel "$kernel" -initrd "$vm/initramfs.cpio.gz" \
  -append "console=ttyAMA0 rdinit=/init panic=-1 loglevel=4" \
  -serial "file:$vm/console.log" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$host_port-:$port,hostfwd=tcp:127.0.0.1:$probe_port-:81$forwards" \
  -device virtio-net-device,netdev=n0 \
  -drive "file=$vm/state.img,format=raw,if=none,id=state" -device virtio-blk-device,drive=state \
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
  # qemu restarts a guest that reboots, so a panic (panic=-1) would boot it again and again.
  if grep -q 'Kernel panic' "$vm/console.log"; then
    echo "board-vm: the kernel panicked; its console:" >&2
    tail -30 "$vm/console.log" >&2
    stop "$vm"
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
# The guest has no shell to log in to: its status page and reboot switch are how a person
# reads the service's RSS and reboots the board, so say where they are.
echo "board-vm: the guest's status (each service's VmRSS, /proc/meminfo): curl http://127.0.0.1:$probe_port/cgi-bin/status"
echo "board-vm: reboot the guest (the state disk on /var/lib is kept): curl http://127.0.0.1:$probe_port/cgi-bin/reboot"
