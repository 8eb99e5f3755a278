#!/bin/sh
# make board-vm's status page (busybox httpd CGI, guest port 81): each service's pid,
# VmRSS and VmHWM from /proc/<pid>/status, then the guest's MemTotal, MemFree and
# MemAvailable, as "key: value" lines.
echo "Content-Type: text/plain"
echo
for f in /run/board-vm/*.pid; do
  [ -e "$f" ] || continue
  pid=$(cat "$f")
  echo "Unit: $(basename "$f" .pid)"
  echo "Pid: $pid"
  grep -E '^(VmRSS|VmHWM):' "/proc/$pid/status"
done
grep -E '^(MemTotal|MemFree|MemAvailable):' /proc/meminfo
