#!/bin/sh
# make board-vm's reboot switch (busybox httpd CGI, guest port 81): busybox reboot, which
# asks PID 1 (board-vm-init.sh) with SIGTERM to stop the services and reboot the guest,
# as `sudo reboot` on a board asks systemd. Only the VM's initramfs has it; no bundle does.
echo "Content-Type: text/plain"
echo
echo "rebooting"
reboot
