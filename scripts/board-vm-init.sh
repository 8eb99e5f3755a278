#!/bin/sh
# /init of make board-vm's initramfs (busybox sh, PID 1), in place of systemd: mounts
# the kernel's file systems, loads the virtio-net modules, sets the address qemu's user
# network expects, mounts the state disk on /var/lib, then runs every enabled unit's
# ExecStart (its drop-ins' too) under its Restart= policy. SIGTERM (busybox reboot) stops
# the services, unmounts the disk and reboots, as systemd would.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs run /run
while read -r m; do insmod "/modules/$m.ko"; done </modules/order
# Loaded, the module files would only hold 2 MB of the guest's RAM (the initramfs is
# RAM; a board keeps them on its disk).
rm -rf /modules
# qemu's user network: the guest is 10.0.2.15, its gateway 10.0.2.2.
ifconfig lo 127.0.0.1 up
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
route add default gw 10.0.2.2
mkdir -p /run/board-vm /var/lib
# The state disk (board-vm.sh's state.img): what the services keep survives a reboot.
for _ in $(seq 50); do [ -e /dev/vda ] && break; sleep 0.1; done
mount -t ext2 /dev/vda /var/lib
# The status page (RSS of each service, /proc/meminfo) that make board-vm forwards.
httpd -p 81 -h /www

# A unit's setting: its last value in the unit file then its drop-ins
# (/etc/systemd/system/UNIT.service.d/*.conf, in name order), as systemd reads them; an
# empty ExecStart= in a drop-in clears the unit's, so the last non-empty one runs.
setting() {
  cat "$1" "/etc/systemd/system/${1##*/}.d"/*.conf 2>/dev/null | sed -n "s/^$2=//p" | grep . | tail -n 1
}

# A unit's Environment=, as systemd reads the simple forms: unquoted KEY=VALUE words,
# several on a line or one a line, the unit's lines then its drop-ins' in the order above
# (a later value of a name wins when exported); an empty Environment= clears what came
# before it. Not read: quoted values (with spaces), specifiers (%), EnvironmentFile=.
environment() {
  cat "$1" "/etc/systemd/system/${1##*/}.d"/*.conf 2>/dev/null | sed -n 's/^Environment=//p' | {
    words=
    while IFS= read -r line; do
      if [ -z "$line" ]; then words=; else words="$words $line"; fi
    done
    echo "${words# }"
  }
}

# One unit: systemd's Restart= (no: never; on-failure: a non-zero exit or a signal;
# always: any exit), RestartSec=, LimitNOFILE= and Environment=; StateDirectory= made as systemd makes it. The
# service runs as root: there is no DynamicUser= here.
run_unit() {
  unit=$(basename "$1" .service)
  exec_start=$(setting "$1" ExecStart)
  restart=$(setting "$1" Restart)
  delay=$(setting "$1" RestartSec)
  state=$(setting "$1" StateDirectory)
  nofile=$(setting "$1" LimitNOFILE)
  env=$(environment "$1")
  [ -n "$state" ] && mkdir -p "/var/lib/$state"
  while :; do
    echo "board-vm: starting $unit: ${env:+$env }$exec_start"
    # LimitNOFILE= as systemd sets it (soft and hard); the kernel's default otherwise.
    # Environment='s words exported in the service only; a word whose name is not a
    # variable name is skipped, as systemd ignores an invalid assignment (and sh's export
    # would end the service's shell).
    # shellcheck disable=SC2086,SC3045  # ExecStart's words split as systemd splits them; busybox sh has ulimit -n
    (
      if [ -n "$nofile" ]; then ulimit -n "$nofile"; fi
      set -f   # a value's * or ? is itself, not a file name
      # shellcheck disable=SC2163  # exports the NAME=VALUE that $w holds
      for w in $env; do
        case ${w%%=*} in '' | [0-9]* | *[!A-Za-z0-9_]*) continue ;; esac
        case $w in *=*) export "$w" ;; esac
      done
      exec $exec_start
    ) &
    echo $! >"/run/board-vm/$unit.pid"
    wait $!
    status=$?
    echo "board-vm: $unit exited with status $status"
    case "${restart:-no}:$status" in
      always:* | on-failure:[1-9]*) sleep "${delay:-0.1}" ;;
      *) break ;;
    esac
  done
}
loops=
for u in /etc/systemd/system/multi-user.target.wants/*.service; do
  [ -e "$u" ] || continue
  run_unit "$u" &
  loops="$loops $!"
done

# A reboot as systemd makes it: no more restarts, each service sent SIGTERM and given
# 5 s before SIGKILL, the disk synced and unmounted, then the kernel's reboot.
shut_down() {
  echo "board-vm: rebooting"
  # shellcheck disable=SC2086  # the loops' pids, one word each
  kill $loops
  for f in /run/board-vm/*.pid; do kill "$(cat "$f")"; done
  for _ in $(seq 50); do
    alive=
    for f in /run/board-vm/*.pid; do kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for f in /run/board-vm/*.pid; do kill -9 "$(cat "$f")" 2>/dev/null; done
  sync
  umount /var/lib && echo "board-vm: state disk unmounted"
  reboot -f
}
trap shut_down TERM
echo "board-vm: up"
# PID 1 must not exit; the loops above never end. sleep runs in the background so that
# the trap runs as soon as SIGTERM comes, not when sleep ends.
while :; do
  sleep 3600 &
  wait $!
done
