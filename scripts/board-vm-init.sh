#!/bin/sh
# /init of make board-vm's initramfs (busybox sh, PID 1), in place of systemd: mounts
# the kernel's file systems, loads the virtio-net modules, sets the address qemu's user
# network expects, then runs every enabled unit's ExecStart under its Restart= policy.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs run /run
while read -r m; do insmod "/modules/$m.ko"; done </modules/order
# qemu's user network: the guest is 10.0.2.15, its gateway 10.0.2.2.
ifconfig lo 127.0.0.1 up
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
route add default gw 10.0.2.2
mkdir -p /run/board-vm
# The status page (RSS of each service, /proc/meminfo) that make board-vm forwards.
httpd -p 81 -h /www

# One unit: systemd's Restart= (no: never; on-failure: a non-zero exit or a signal;
# always: any exit), RestartSec= and LimitNOFILE=; StateDirectory= made as systemd makes it. The
# service runs as root: there is no DynamicUser= here.
run_unit() {
  unit=$(basename "$1" .service)
  exec_start=$(sed -n 's/^ExecStart=//p' "$1")
  restart=$(sed -n 's/^Restart=//p' "$1")
  delay=$(sed -n 's/^RestartSec=//p' "$1")
  state=$(sed -n 's/^StateDirectory=//p' "$1")
  nofile=$(sed -n 's/^LimitNOFILE=//p' "$1")
  [ -n "$state" ] && mkdir -p "/var/lib/$state"
  while :; do
    echo "board-vm: starting $unit: $exec_start"
    # LimitNOFILE= as systemd sets it (soft and hard); the kernel's default otherwise.
    # shellcheck disable=SC2086,SC3045  # ExecStart's words split as systemd splits them; busybox sh has ulimit -n
    (if [ -n "$nofile" ]; then ulimit -n "$nofile"; fi; exec $exec_start) &
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
for u in /etc/systemd/system/multi-user.target.wants/*.service; do
  [ -e "$u" ] && run_unit "$u" &
done
echo "board-vm: up"
# PID 1 must not exit; the loops above never end.
while :; do sleep 3600; done
