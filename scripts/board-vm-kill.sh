#!/bin/sh
# make board-vm's crash switch (busybox httpd CGI, guest port 81): SIGKILLs every running
# service, as a crash would end it, so a test can see /init restart it as its unit's
# Restart= says. Only the VM's initramfs has it; no bundle does.
echo "Content-Type: text/plain"
echo
for f in /run/board-vm/*.pid; do
  [ -e "$f" ] || continue
  kill -9 "$(cat "$f")" && echo "killed $(basename "$f" .pid) $(cat "$f")"
done
